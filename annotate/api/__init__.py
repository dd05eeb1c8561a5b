"""The REST API (DRF): one view per operation, calling the same permissions, selectors and
services as the pages. Token or session authentication; one error body shape."""
