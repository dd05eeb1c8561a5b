from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 500); the default size is ``API_PAGE_SIZE``."""

    page_size_query_param = "page_size"
    max_page_size = 500
