"""routing.selectors.instance_tags: the tag map the agreement report reads by tag."""

from __future__ import annotations

from routing.models import InstanceFeatures
from routing.selectors import instance_tags
from tests.conftest import build_campaign


def test_instance_tags_maps_each_instance_of_the_campaign_to_its_tags(pm):
    campaign = build_campaign(pm=pm, n_instances=2)
    other = build_campaign(pm=pm, name="Other", n_instances=1)
    first, second = campaign.instances.order_by("pk")
    InstanceFeatures.objects.create(instance=first, version="v1", tags=["code", "math"])
    InstanceFeatures.objects.create(instance=other.instances.get(), version="v1", tags=["chat"])
    assert instance_tags(campaign=campaign) == {first.pk: ["code", "math"]}
    assert second.pk not in instance_tags(campaign=campaign)
