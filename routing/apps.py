from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing and LLM annotators"

    def ready(self) -> None:
        # Exports carry each instance's routing decision; annotate cannot import routing, so
        # routing hands it the lookup.
        from annotate.exports.routing_hook import register_routing_lookup
        from routing.export_columns import latest_routing_decisions

        register_routing_lookup(latest_routing_decisions)
