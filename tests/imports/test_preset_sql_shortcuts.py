"""The cheap tests the staged import's SQL makes before its costly ones (a list split without a
regular expression, a type looked for before it is matched, a description searched for "\\n"
before it is rewritten) give what Python gives, on the usual values and on the others."""
from __future__ import annotations

import pytest

from imports.products.derive import Col, DeepestPath, First, LineBreaks, ParentRow, Rest

from .test_preset_options_discounts import _sql_agrees

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# The usual list (one space after each comma) and every spacing that is not.
LISTS = [
    "a.jpg, b.jpg, c.jpg", "a.jpg,b.jpg", "a.jpg", "", "a.jpg , b.jpg", "a.jpg,  b.jpg", " a.jpg, b.jpg ",
    "a.jpg, , b.jpg", ", a.jpg", "a.jpg,", "a.jpg, ", ",", " , ", "a b.jpg, c d.jpg", "a.jpg ,b.jpg",
    "a.jpg,   b.jpg,c.jpg", "  ", "a.jpg,,b.jpg", "x, y ,z,  w",
]


@pytest.mark.parametrize("expr", [First(Col(0)), Rest(Col(0)), Rest(Col(0), without=Col(1))], ids=["first", "rest", "without"])
def test_lists_split_as_python_splits_them(expr):
    _sql_agrees(expr, [[text, "b.jpg"] for text in LISTS])


def test_deepest_category_of_any_spacing():
    paths = ["Home, Home > Kitchen", "Home > Kitchen ,Home", "Uncategorized, Garden", "Garden ,  Garden > Tools > Saws"]
    _sql_agrees(DeepestPath(Col(0)), [[text] for text in [*paths, *LISTS]])


def test_parent_and_external_types_are_found_only_as_whole_items():
    kinds = ["simple", "variable", "Variable", "variation", "simple, variable", "external", "External, simple",
             "externals", "my-external", "grouped", " grouped ", "grouped,external", "variablex", "", "virtual, downloadable"]
    expr = ParentRow(Col(1), kind=Col(0), kinds=("variable", "grouped"), always=("external",))
    _sql_agrees(expr, [[kind, price] for kind in kinds for price in ("", "9.90")])


def test_descriptions_get_their_line_breaks_and_keep_the_rest():
    texts = ["<p>Plain</p>", "one\\ntwo", "ends\\n", "\\nstarts", "twice\\n\\nbroken", "", "a\nreal break"]
    _sql_agrees(LineBreaks(Col(0)), [[text] for text in texts])
