"""Performance rules over fixture trees: Django query rules and ruff's PERF rules."""
from __future__ import annotations

import pytest

from .conftest import findings_of

CASES = {
    "PERF-D001": (
        '''
        from .models import Product


        def touch():
            for product in Product.objects.filter(active=True):
                product.stock = 0
                product.save()
        ''',
        '''
        from .models import Product


        def touch():
            Product.objects.filter(active=True).update(stock=0)
        ''',
        7,
    ),
    "PERF-D002": (
        '''
        from .models import Order


        def totals(vendors):
            orders = Order.objects.all()
            for vendor in vendors:
                vendor.n = orders.filter(vendor=vendor).count()
        ''',
        '''
        from django.db.models import Count

        from .models import Vendor


        def totals():
            return Vendor.objects.annotate(n=Count("orders"))
        ''',
        7,
    ),
    "PERF-D003": (
        '''
        from .models import Order


        def report():
            orders = Order.objects.filter(open=True)
            first = [o.pk for o in orders.iterator()]
            second = [o.total for o in orders.iterator()]
            return first, second
        ''',
        '''
        from .models import Order


        def report():
            orders = list(Order.objects.filter(open=True))
            return [o.pk for o in orders], [o.total for o in orders]
        ''',
        7,
    ),
    "PERF-D004": (
        '''
        from .models import Product


        def export(write):
            for product in Product.objects.filter(active=True):
                write(product.sku)
        ''',
        '''
        from .models import Product


        def export(write):
            for product in Product.objects.filter(active=True).iterator(chunk_size=2000):
                write(product.sku)
        ''',
        5,
    ),
}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_django_performance_rule_finds_the_violation_at_its_line(fixture_tree, rule_id):
    bad, _good, line = CASES[rule_id]
    fixture_tree.app("jobs", {"services.py": bad})
    assert findings_of(fixture_tree.performance(), rule_id) == [("jobs/services.py", line)]


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_django_performance_rule_leaves_the_better_version_alone(fixture_tree, rule_id):
    _bad, good, _line = CASES[rule_id]
    fixture_tree.app("jobs", {"services.py": good})
    assert findings_of(fixture_tree.performance(), rule_id) == []


def test_len_of_a_queryset_is_found(fixture_tree):
    fixture_tree.app("jobs", {"services.py": "from .models import Order\n\n\ndef n():\n    return len(Order.objects.all())\n"})
    assert findings_of(fixture_tree.performance(), "PERF-D002") == [("jobs/services.py", 5)]


def test_a_cached_queryset_iterated_twice_is_not_flagged(fixture_tree):
    """Plain ``for x in qs`` twice runs one query (the result cache): only fresh queries count."""
    fixture_tree.app(
        "jobs",
        {"services.py": "from .models import Order\n\n\ndef f():\n    qs = Order.objects.all()\n    a = [o for o in qs]\n    b = [o for o in qs]\n    return a, b\n"},
    )
    assert findings_of(fixture_tree.performance(), "PERF-D003") == []


def test_iteration_outside_job_modules_is_not_asked_for_iterator(fixture_tree):
    fixture_tree.app("jobs", {"admin.py": CASES["PERF-D004"][0]})
    assert findings_of(fixture_tree.performance(), "PERF-D004") == []


def test_ruff_perf_findings_come_through(fixture_tree):
    fixture_tree.app("jobs", {"services.py": "def f(rows):\n    out = []\n    for r in rows:\n        out.append(r * 2)\n    return out\n"})
    assert findings_of(fixture_tree.performance(), "PERF401") == [("jobs/services.py", 4)]
