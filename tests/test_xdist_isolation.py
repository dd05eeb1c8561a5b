"""Two test processes never share a broker or a data folder (tests/xdist_isolation.py)."""

from tests.xdist_isolation import isolate


def test_each_worker_gets_its_own_redis_database_and_var_dir(tmp_path):
    first = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/15", "VAR_DIR": str(tmp_path)}
    second = dict(first)
    isolate(first, "gw0")
    isolate(second, "gw1")
    assert first["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/15"
    assert second["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/14"
    assert first["VAR_DIR"] != second["VAR_DIR"]
    assert (tmp_path / "gw1").is_dir()


def test_a_url_without_a_database_and_a_password_keep_the_server():
    environ = {"CELERY_BROKER_URL": "rediss://:secret@redis:6380"}
    isolate(environ, "gw1")
    assert environ["CELERY_BROKER_URL"] == "rediss://:secret@redis:6380/15"


def test_the_embedded_broker_is_left_alone_and_folders_follow_var_dir():
    environ = {"CELERY_BROKER_URL": "filesystem://"}
    isolate(environ, "gw3")
    assert environ == {"CELERY_BROKER_URL": "filesystem://"}
