from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotate', '0016_jobrun_sent_at'),
    ]

    operations = [
        migrations.CreateModel(
            name='SchedulerHeartbeat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=64, unique=True)),
                ('ticked_at', models.DateTimeField()),
            ],
        ),
    ]
