"""Browser steps a project manager takes in several browser tests (Playwright pages): logging
in, creating a campaign from a template, saving its settings. Each step waits until the page
has answered, so the next step and the database reads after it see its result."""

from __future__ import annotations

from annotate.models import Campaign


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def create_campaign_from_template(page, *, name: str, template: str) -> Campaign:
    """From the logged-in PM's home page: "New campaign", a name and a template, created;
    returns the stored campaign once its setup page is shown."""
    page.click("text=New campaign")
    page.fill("input[name=name]", name)
    page.check(f"input[name=template][value={template}]")
    page.click("button:has-text('Create campaign')")
    page.wait_for_selector("text=Settings, task and guidelines")
    return Campaign.objects.get(name=name)


def save_campaign_settings(page, base_url: str, campaign: Campaign, fields: dict[str, str]) -> None:
    """Fill the settings form's inputs (by name) and save."""
    page.goto(f"{base_url}/campaigns/{campaign.slug}/settings/")
    for field, value in fields.items():
        page.fill(f"input[name={field}]", value)
    page.click("button:has-text('Save settings')")
    page.wait_for_load_state()
