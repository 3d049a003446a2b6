"""`make test` runs pytest in two processes (pytest-xdist, `-n 2`, one per core of the 2-core CI
machine). The slowest test, a whole `make reproduce SCALE=smoke` in a fresh clone (about half of
pytest's time on one core), goes first, so that it runs beside all the others, not after them."""

FIRST = "test_reproduce_and_render_change_no_tracked_file"


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.name != FIRST)       # a stable sort: the rest keep their order
