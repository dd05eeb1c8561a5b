from django.contrib.auth import views as auth_views
from django.urls import path

from annotate.api import auth as api_auth
from annotate.api import views as api
from annotate.views import (
    adjudication,
    campaigns,
    dashboard,
    data,
    exports,
    labelling,
    manage,
    people,
    quality,
    setup,
)

urlpatterns = [
    path("", campaigns.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # issue 17: campaign setup
    path("campaigns/new/", setup.campaign_create, name="campaign_create"),
    path("campaigns/<slug:slug>/settings/", setup.campaign_settings, name="campaign_settings"),
    path("campaigns/<slug:slug>/settings/clone/", setup.campaign_clone, name="campaign_clone"),
    path(
        "campaigns/<slug:slug>/settings/<str:action>/",
        setup.campaign_lifecycle,
        name="campaign_lifecycle",
    ),
    path("campaigns/<slug:slug>/task/", setup.campaign_task, name="campaign_task"),
    path("campaigns/<slug:slug>/guidelines/", setup.campaign_guidelines, name="campaign_guidelines"),
    # end issue 17: campaign setup
    path("campaigns/<slug:slug>/", campaigns.campaign_detail, name="campaign_detail"),
    path("campaigns/<slug:slug>/label/", labelling.label_next, name="label_next"),
    path("campaigns/<slug:slug>/label/claim/", labelling.claim_item, name="label_claim"),
    path("campaigns/<slug:slug>/label/recent/", labelling.recent_items, name="label_recent"),
    path(
        "campaigns/<slug:slug>/label/<int:assignment_id>/edit/",
        labelling.edit_item,
        name="label_edit",
    ),
    path(
        "campaigns/<slug:slug>/label/<int:assignment_id>/",
        labelling.submit_label,
        name="submit_label",
    ),
    path(
        "campaigns/<slug:slug>/label/<int:assignment_id>/draft/",
        labelling.save_draft,
        name="save_draft",
    ),
    path(
        "campaigns/<slug:slug>/label/<int:assignment_id>/skip/",
        labelling.skip_item,
        name="skip_item",
    ),
    path("campaigns/<slug:slug>/import/", manage.import_instances_page, name="import_instances"),
    path("campaigns/<slug:slug>/llm-jobs/", manage.start_llm_job, name="start_llm_job"),
    path(
        "campaigns/<slug:slug>/export/<str:format_name>/",
        exports.download_export,
        name="download_export",
    ),
    path("campaigns/<slug:slug>/exports/", exports.campaign_exports, name="campaign_exports"),
    path(
        "campaigns/<slug:slug>/exports/files/<int:file_id>/",
        exports.download_export_file,
        name="download_export_file",
    ),
    # issue 17: PM dashboard and import preview
    path("campaigns/<slug:slug>/dashboard/", dashboard.campaign_dashboard, name="campaign_dashboard"),
    # issue 17: quality control
    path("campaigns/<slug:slug>/quality/", quality.campaign_quality, name="campaign_quality"),
    path("campaigns/<slug:slug>/quality/items/", quality.check_items_page, name="campaign_check_items"),
    path(
        "campaigns/<slug:slug>/quality/flags/<int:flag_id>/lift/", quality.lift_flag, name="lift_quality_flag"
    ),
    # issue 17: aggregation, agreement and adjudication
    path(
        "campaigns/<slug:slug>/adjudication/",
        adjudication.campaign_adjudication,
        name="campaign_adjudication",
    ),
    path("campaigns/<slug:slug>/agreement/", adjudication.campaign_agreement, name="campaign_agreement"),
    path(
        "campaigns/<slug:slug>/agreement/recompute/", adjudication.recompute_report, name="recompute_campaign_report"
    ),
    # issue 17: people, invites and the data browser
    path("campaigns/<slug:slug>/people/", people.campaign_people, name="campaign_people"),
    path("campaigns/<slug:slug>/people/invites/", people.create_campaign_invite, name="create_campaign_invite"),
    path(
        "campaigns/<slug:slug>/people/invites/<int:invite_id>/revoke/",
        people.revoke_campaign_invite,
        name="revoke_campaign_invite",
    ),
    path(
        "campaigns/<slug:slug>/people/<int:membership_id>/",
        people.update_campaign_member,
        name="update_campaign_member",
    ),
    path(
        "campaigns/<slug:slug>/people/<int:membership_id>/active/",
        people.set_campaign_member_active,
        name="set_campaign_member_active",
    ),
    path("invites/<str:token>/", people.accept_invite_page, name="accept_invite"),
    path("campaigns/<slug:slug>/data/", data.campaign_data, name="campaign_data"),
    path("campaigns/<slug:slug>/data/<int:instance_id>/", data.campaign_instance, name="campaign_instance"),
    path("jobs/<int:job_id>/", manage.job_detail, name="job_detail"),
    path("api/auth/token/", api_auth.ObtainTokenView.as_view(), name="api_token"),
    path("api/campaigns/", api.CampaignListView.as_view(), name="api_campaigns"),
    path("api/campaigns/<slug:slug>/", api.CampaignDetailView.as_view(), name="api_campaign"),
    path("api/campaigns/<slug:slug>/instances/", api.InstanceListView.as_view(), name="api_instances"),
    path("api/campaigns/<slug:slug>/imports/", api.CampaignImportView.as_view(), name="api_import"),
    path("api/campaigns/<slug:slug>/queue/claim/", api.ClaimView.as_view(), name="api_claim"),
    path(
        "api/campaigns/<slug:slug>/assignments/<int:assignment_id>/submit/",
        api.SubmitView.as_view(),
        name="api_submit",
    ),
    path("api/campaigns/<slug:slug>/annotations/", api.AnnotationListView.as_view(), name="api_annotations"),
    path("api/campaigns/<slug:slug>/exports/", api.ExportListView.as_view(), name="api_exports"),
    path(
        "api/campaigns/<slug:slug>/exports/files/<int:file_id>/",
        api.ExportFileView.as_view(),
        name="api_export_file",
    ),
    path("api/jobs/<int:job_id>/", api.JobDetailView.as_view(), name="api_job"),
]
