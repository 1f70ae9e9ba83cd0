"""Column presets: the product CSVs shops export (WooCommerce, Shopify, PrestaShop, Magento and its product grid), recognised by their header.

A preset maps the format's own columns to the feed columns and says what its rows mean (a
shop's sku beats its internal id, stock flags, image lists, sale prices, parent rows, Shopify's
rows grouped by handle). It only shapes the header: the values are derived by the expressions
of ``derive`` (the same in Python and in SQL), so the PostgreSQL reader still does the work.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from wizamart.marketplace.feed import FEED_COLUMNS, HEADER_ALIASES, REQUIRED_COLUMNS, normalise_header

from .derive import (
    AnyOf,
    Barcode,
    Blank,
    Coalesce,
    Col,
    CompareAtPrice,
    DeepestPath,
    Discounted,
    Expr,
    First,
    Flag,
    FromParent,
    Hidden,
    Joined,
    LineBreaks,
    Link,
    LowerPrice,
    NamedOption,
    OnBackorder,
    OtherImages,
    PairValue,
    ParentRow,
    Relisted,
    Rest,
    SaleWhile,
    StockTotal,
    SymbolPrice,
    TrackedQuantity,
    TrackedStock,
    Unescaped,
    WithUnit,
    kinds_pattern,
    option_cases,
    option_spellings,
)

# A cell that names a column with its unit: "Weight (kg)", "Poids (kg)", "Gewicht (g)".
_UNIT_RE = re.compile(r"^\s*(weight|poids|gewicht)\s*\(\s*([a-z]{1,4})\s*\)\s*$", re.IGNORECASE)


def preset_key(cell: str) -> str:
    """A header cell as presets name it: 'In stock?' -> 'in_stock', 'Reference #' -> 'reference'."""
    text = normalise_header(cell).replace("’", "'")
    return re.sub(r"[\W_]+", "_", text).strip("_")


class Columns:
    """The columns of a header that a preset derives values from, by key; missing ones are None."""

    def __init__(self, header: list[str], ignored: set[int]):
        self.at: dict[str, int] = {}
        for index, cell in enumerate(header):
            key = preset_key(cell)
            if key and key not in self.at and index not in ignored:
                self.at[key] = index
        self.units = {
            index: match[2].lower()
            for index, cell in enumerate(header)
            if index not in ignored and (match := _UNIT_RE.match(cell.replace("\ufeff", "")))
        }

    def col(self, *keys: str) -> Expr | None:
        """The first of the keys the header has, as a cell."""
        for key in keys:
            if key in self.at:
                return Col(self.at[key])
        return None

    @staticmethod
    def any_of(*tests: Expr | None) -> Expr | None:
        """The row is skipped when any of the tests that exist says so."""
        found = tuple(t for t in tests if t is not None)
        if not found:
            return None
        return found[0] if len(found) == 1 else AnyOf(found)

    def first(self, *alternatives: Expr | None) -> Expr | None:
        """The first of the expressions whose columns exist, or their coalesced value when several do."""
        found = tuple(a for a in alternatives if a is not None)
        if not found:
            return None
        return found[0] if len(found) == 1 else Coalesce(found)


@dataclass(frozen=True)
class GroupFill:
    """Rows grouped by a key cell (consecutive rows with the same key): each row gets, after the
    file's own cells, per fill either its own value or the group's first one ("first"), or the
    group's values listed, comma separated ("all")."""

    key: int
    fills: tuple[tuple[int, str], ...]  # (cell index, "first" | "all")


@dataclass(frozen=True)
class ParentFill:
    """Rows that name their parent row (WooCommerce's variations, by the parent's sku or "id:<ID>"):
    each row gets, after the file's own cells, per fill the parent's value of that cell (empty
    without a parent). A parent is a row of a ``kinds`` type, named by any of its ``keys`` cells
    (with their prefix), and comes before the rows naming it, as shops export them; when two rows
    go by the same name, the first is the parent."""

    parent: int
    kind: int
    kinds: tuple[str, ...]
    keys: tuple[tuple[int, str], ...]  # (cell index, prefix): "woo-tee" by its SKU, "id:44" by its ID
    fills: tuple[tuple[int, str], ...]  # (cell index, "parent")

    @property
    def kind_pattern(self) -> str:
        """The regular expression a parent's lower-cased, trimmed type matches (the type is a list)."""
        return kinds_pattern(self.kinds)


@dataclass(frozen=True)
class Shape:
    """What a preset makes of one header: feed column -> expression, the parent-row test, a grouping,
    and what the columns it reads by a rule do (header index -> text for the mapping screen:
    "color or size, by the option's name"), where naming one feed column would not be true."""

    values: dict[str, Expr]
    skip: Expr | None = None
    group: GroupFill | ParentFill | None = None
    notes: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    columns: dict[str, str]  # normalised source header (preset_key) -> feed column, for display and detection
    signatures: tuple[frozenset[str], ...] = ()  # the header is this format when it has all keys of one
    skip_reason: str = ""  # what a skipped row is, for the job's message
    shape: Callable[[Columns, int], Shape] | None = field(default=None, compare=False, repr=False)

    def matches(self, keys: set[str]) -> bool:
        return any(signature <= keys for signature in self.signatures)


# The names shops give their colour and size options (en, fr, de, lb, nl, it, es, pt, pl, nordic).
COLOUR_NAMES = (
    "color", "colour", "colors", "colours", "couleur", "couleurs", "farbe", "farben", "faarf", "kleur", "colore",
    "colori", "cor", "kolor", "färg", "farve", "farge", "väri",
)
SIZE_NAMES = (
    "size", "sizes", "taille", "tailles", "größe", "grösse", "groesse", "gréisst", "maat", "taglia", "talla",
    "tamaño", "tamanho", "rozmiar", "storlek", "størrelse", "koko",
)
COLOUR_OPTIONS = option_spellings(*COLOUR_NAMES)
SIZE_OPTIONS = option_spellings(*SIZE_NAMES)
# Option names as shops write them, which SQL looks up as they are (see NamedOption): the colours
# and sizes, Shopify's "Title" of a product without options, other usual ones, and none.
KNOWN_OPTION_NAMES = option_cases(*COLOUR_NAMES, *SIZE_NAMES, "title", "material", "style", "")

# What the mapping screen says of the columns that give color or size by a name in another column.
OPTION_NAME_NOTE = "color or size: names what its {0}'s value is (Color, Size…)"
OPTION_VALUE_NOTE = "color or size, by the {0}'s name"
# A shop's own number for a product: the key only where the product has no reference of its own.
ID_FALLBACK_NOTE = "id, for a row without a {0}"


def _id_fallback(notes: dict[int, str], key: Expr | None, number: Expr | None, name: str) -> dict[int, str]:
    if isinstance(key, Col) and isinstance(number, Col):
        notes[number.index] = ID_FALLBACK_NOTE.format(name)
    return notes


def named_options(pairs: list[tuple[Expr, Expr]], colours: frozenset[str], sizes: frozenset[str]) -> dict[str, Expr]:
    """Options as the feed's colour and size, by their names: (name, value) pairs, the first named so wins."""
    if not pairs:
        return {}
    names, values = tuple(n for n, _ in pairs), tuple(v for _, v in pairs)
    return {
        "color": NamedOption(names, values, colours, known=KNOWN_OPTION_NAMES),
        "size": NamedOption(names, values, sizes, known=KNOWN_OPTION_NAMES),
    }


# --- WooCommerce: the built-in product CSV exporter, in English, French and German ----------------
_WOO = {
    # English, then fr_FR, then de_DE, as WooCommerce's exporter writes them (keys: see preset_key).
    "sku": ("sku", "ugs", "artikelnummer"),
    "id": ("id",),
    "type": ("type", "typ"),
    "name": ("name", "nom"),
    "description": ("description", "beschreibung"),
    "short_description": ("short_description", "description_courte", "kurzbeschreibung"),
    "in_stock": ("in_stock", "en_stock", "vorrätig"),
    "stock": ("stock", "bestand", "lager"),
    "sale_price": ("sale_price", "tarif_promo", "angebotspreis"),
    "regular_price": ("regular_price", "tarif_régulier", "regulärer_preis"),
    "categories": ("categories", "catégories", "kategorien"),
    "images": ("images", "bilder"),
    "gtin": ("gtin_upc_ean_or_isbn", "gtin_upc_ean_ou_isbn", "gtin_upc_ean_oder_isbn"),
    "brands": ("brands", "marques", "marken"),
    "published": ("published", "publié", "veröffentlicht"),
    # A sale price's schedule, as days ("2024-06-01").
    "sale_starts": ("date_sale_price_starts", "date_de_début_de_promo", "datum_an_dem_angebotspreis_beginnt"),
    "sale_ends": ("date_sale_price_ends", "date_de_fin_de_promo", "datum_an_dem_angebotspreis_endet"),
    # The product identifiers Yoast WooCommerce SEO adds to the export, after WooCommerce's own GTIN.
    "mpn": ("mpn",),
}
_WOO_IDENTIFIERS = ("gtin13_ean", "gtin12_upc", "gtin14_itf_14", "gtin8", "isbn")
# The meta fields of the usual GTIN plugins, which the exporter writes as "Meta: <key>" (fr "Méta : <key>",
# de "Meta: <key>") when custom meta is exported: Germanized's GTIN and MPN (_ts_gtin, _ts_mpn, also on
# variations), EAN for WooCommerce's _alg_ean, Product GTIN (EAN, UPC, ISBN) for WooCommerce's _wpm_gtin_code.
_WOO_META = ("meta_{0}", "méta_{0}")
_WOO_GTIN_METAS = tuple(form.format(key) for key in ("ts_gtin", "alg_ean", "wpm_gtin_code") for form in _WOO_META)
_WOO_MPN_METAS = tuple(form.format("ts_mpn") for form in _WOO_META)
_WOO_PARENT = ("parent", "übergeordnetes_produkt")  # English and French, German
# "Attribute 1 name" / "Attribute 1 value(s)", fr "Nom de l’attribut 1" / "Valeur(s) de l’attribut 1",
# de "Attribut 1 Name" / "Attribut 1 Wert(e)" (keys: see preset_key); "visible", "global" and "default" are not read.
_WOO_ATTRIBUTE_NAME = re.compile(r"^(?:attribute_(\d+)_name|nom_de_l_attribut_(\d+)|attribut_(\d+)_name)$")
_WOO_ATTRIBUTE_VALUE = re.compile(r"^(?:attribute_(\d+)_value_s|valeur_s_de_l_attribut_(\d+)|attribut_(\d+)_wert_e)$")
# An attribute is named by its label ("Color", "Taille") or, imported from elsewhere, its slug ("pa_color").
_WOO_COLOURS = COLOUR_OPTIONS | option_spellings(*(f"pa_{name}" for name in COLOUR_NAMES))
_WOO_SIZES = SIZE_OPTIONS | option_spellings(*(f"pa_{name}" for name in SIZE_NAMES))
# An attribute named a brand (en, fr, de, nl), or by its slug ("pa_brand"), gives the brand of a row
# without Brands.
BRAND_NAMES = ("brand", "marque", "marke", "merk")
_WOO_BRANDS = option_spellings(*BRAND_NAMES, *(f"pa_{name}" for name in BRAND_NAMES))
# What the mapping screen says of WooCommerce's attribute columns.
WOO_ATTRIBUTE_NAME_NOTE = "color, size or brand: names what its attribute's value is (Color, Size, Brand…)"
WOO_ATTRIBUTE_VALUE_NOTE = "color, size or brand, by the attribute's name"
STOCK_FLAGS = (("1", "in stock"), ("0", "out of stock"), ("yes", "in stock"), ("no", "out of stock"),
               ("true", "in stock"), ("false", "out of stock"), ("onbackorder", "backorder"))


def _numbered(cols: Columns, pattern: re.Pattern) -> dict[int, int]:
    """The header's numbered columns of a kind: number -> header index."""
    found = {}
    for key, index in cols.at.items():
        if match := pattern.match(key):
            found.setdefault(int(next(n for n in match.groups() if n)), index)
    return found


def _woo_attributes(cols: Columns) -> tuple[dict[str, Expr], dict[int, str]]:
    """WooCommerce's attributes as the feed's colour, size and brand, by the attribute's name, with
    what the mapping screen says of their columns. A variation has one value; a variable product lists
    its values (it is skipped), a simple product its own."""
    names, values = _numbered(cols, _WOO_ATTRIBUTE_NAME), _numbered(cols, _WOO_ATTRIBUTE_VALUE)
    numbers = sorted(names.keys() & values.keys())
    notes = {}
    for n in numbers:
        notes[names[n]] = WOO_ATTRIBUTE_NAME_NOTE
        notes[values[n]] = WOO_ATTRIBUTE_VALUE_NOTE
    pairs = [(Col(names[n]), Unescaped(Col(values[n]))) for n in numbers]
    found = named_options(pairs, _WOO_COLOURS, _WOO_SIZES)
    if numbers:
        found["brand"] = _woo_brand(pairs)
    return found, notes


def _woo_brand(pairs: list[tuple[Expr, Expr]]) -> Expr:
    """The value of the first attribute (name, value) named a brand."""
    return NamedOption(
        tuple(name for name, _ in pairs), tuple(value for _, value in pairs),
        _WOO_BRANDS, known=KNOWN_OPTION_NAMES | option_cases(*BRAND_NAMES),
    )


def _weight(cols: Columns) -> Expr | None:
    for index, unit in cols.units.items():
        return WithUnit(Col(index), unit)
    return None


# What a variation takes from its variable product when it has none of its own, as WooCommerce shows it.
_WOO_INHERITED = ("name", "description", "short_description", "categories", "images", "brands")


def _woocommerce(cols: Columns, width: int) -> Shape:
    c = {role: cols.col(*keys) for role, keys in _WOO.items()}
    weight = _weight(cols)
    parent, kind = cols.col(*_WOO_PARENT), c["type"]
    group = parent_published = parent_stock = parent_brand = None
    if isinstance(parent, Col) and isinstance(kind, Col):
        inherited = [(role, c[role].index) for role in _WOO_INHERITED if isinstance(c[role], Col)]
        if isinstance(weight, WithUnit) and isinstance(weight.part, Col):
            inherited.append(("weight", weight.part.index))
        keys = tuple((e.index, prefix) for e, prefix in ((c["sku"], ""), (c["id"], "id:")) if isinstance(e, Col))
        if inherited and keys:
            fills = [index for _, index in inherited]
            if isinstance(c["published"], Col):
                # A variation is not for sale when its variable product is not published (WooCommerce's
                # is_purchasable()), whatever its own Published says.
                parent_published = Col(width + len(fills))
                fills.append(c["published"].index)
            if isinstance(c["stock"], Col):
                # A variation whose stock its variable product manages: its Stock is "parent".
                parent_stock = Col(width + len(fills))
                fills.append(c["stock"].index)
            # A variation's row lists only the attributes it varies by: its variable product's
            # others (the brand) are on the product's row.
            names, attribute_values = _numbered(cols, _WOO_ATTRIBUTE_NAME), _numbered(cols, _WOO_ATTRIBUTE_VALUE)
            numbers = sorted(names.keys() & attribute_values.keys())
            if numbers:
                first = width + len(fills)
                for n in numbers:
                    fills += [names[n], attribute_values[n]]
                parent_brand = _woo_brand(
                    [(Col(first + 2 * k), Unescaped(Col(first + 2 * k + 1))) for k in range(len(numbers))]
                )
            group = ParentFill(
                parent=parent.index, kind=kind.index, kinds=("variable",), keys=keys,
                fills=tuple((index, "parent") for index in fills),
            )
            for n, (role, index) in enumerate(inherited):
                own = Coalesce((Col(index), Col(width + n)))
                if role == "weight":
                    weight = WithUnit(own, weight.unit)
                else:
                    c[role] = own
    images = c["images"]
    # A variable or grouped product without a price is not sold itself (its variations, its products
    # are); an external (affiliate) product is sold on another site, price or not.
    parents = ParentRow(
        c["regular_price"], kind=kind, kinds=("variable", "grouped"), always=("external",) if kind is not None else (),
    ) if c["regular_price"] else None
    # Published: 1; a draft -1, a private product (or a disabled variation) 0: not for sale.
    skip = cols.any_of(
        parents,
        Hidden(c["published"], ("-1", "0")) if c["published"] else None,
        Hidden(parent_published, ("-1", "0")) if parent_published else None,
    )
    # WooCommerce's GTIN, else the first of Yoast's identifiers (EAN, UPC, GTIN-14, GTIN-8, ISBN) a row has,
    # else a GTIN plugin's; Yoast's MPN, else Germanized's.
    gtin = cols.first(c["gtin"], *(cols.col(key) for key in _WOO_IDENTIFIERS + _WOO_GTIN_METAS))
    mpn = cols.first(c["mpn"], *(cols.col(key) for key in _WOO_MPN_METAS))
    # Its exporter writes a description's line breaks as "\n".
    description = cols.first(c["description"], c["short_description"])
    # A sale price below the regular price, while its sale runs when it is scheduled (WooCommerce's
    # is_on_sale(): a sale to come or over, or as high as the price, is no sale).
    sale = c["sale_price"]
    if sale is not None and c["regular_price"] is not None:
        sale = LowerPrice(sale, c["regular_price"])
    if sale is not None and (c["sale_starts"] or c["sale_ends"]):
        sale = SaleWhile(sale, c["sale_starts"], c["sale_ends"], today=timezone.localdate().isoformat())
    values = {
        "id": cols.first(c["sku"], c["id"]),
        "title": c["name"],
        "description": LineBreaks(description) if description else None,
        "price": c["regular_price"],
        "sale_price": sale,
        # "parent": the variation sells from its variable product's stock (WooCommerce's shared stock).
        "quantity": FromParent(c["stock"], "parent", parent_stock) if c["stock"] else None,
        "availability": Flag(c["in_stock"], STOCK_FLAGS) if c["in_stock"] else None,
        # Its lists ("a.jpg, b.jpg") write a comma inside an item as "\,".
        "image_link": First(images, escaped=True) if images else None,
        "additional_image_link": Rest(images, escaped=True) if images else None,
        # The most specific of its categories ("Clothing, Clothing > T-shirts": the T-shirts), as
        # Google's product_type is the shop's own path; its default category ("Uncategorized") is none.
        "product_type": DeepestPath(c["categories"]) if c["categories"] else None,
        "gtin": Barcode(gtin) if gtin else None,
        "mpn": mpn,
        "brand": First(c["brands"], escaped=True) if c["brands"] else None,
        "weight": weight,
    }
    options, notes = _woo_attributes(cols)
    # Its Brands (else its variable product's), else an attribute named a brand, else one of its
    # variable product's.
    values["brand"] = cols.first(values["brand"], options.pop("brand", None), parent_brand)
    _id_fallback(notes, c["sku"], c["id"], "SKU")
    return Shape(values={**values, **options}, skip=skip, group=group, notes=notes)


# --- Shopify: the product CSV, one row per variant and per extra image, grouped by Handle ----------
_SHOPIFY_GROUP = (  # (key, mode): the product's own values its variant rows inherit, and its images
    ("title", "first"), ("body_html", "first"), ("vendor", "first"), ("type", "first"), ("product_category", "first"),
    ("image_src", "head"), ("image_src", "tail"), ("image_src", "all"),
    # Product-level Google Shopping fields: written on the product's first row only.
    ("google_shopping_condition", "first"), ("google_shopping_google_product_category", "first"),
    ("status", "first"), ("published", "first"),
    # A product's option names: on its first row only, its variant rows carry only their values.
    ("option1_name", "first"), ("option2_name", "first"), ("option3_name", "first"),
)

def _named_options(cols: Columns, inherited: dict[str, Expr]) -> tuple[dict[str, Expr], dict[int, str]]:
    """Shopify's options as the feed's colour and size, by the option's name (inherited from the
    product's first row), with what the mapping screen says of their columns."""
    numbers = [
        n for n in (1, 2, 3) if f"option{n}_name:first" in inherited and cols.col(f"option{n}_value") is not None
    ]
    pairs = [(inherited[f"option{n}_name:first"], cols.col(f"option{n}_value")) for n in numbers]
    fallback = "; with the handle, the id when Variant SKU is empty" if "handle" in cols.at else ""
    notes = {}
    for n in numbers:
        notes[cols.at[f"option{n}_name"]] = OPTION_NAME_NOTE.format("option")
        notes[cols.at[f"option{n}_value"]] = OPTION_VALUE_NOTE.format("option") + fallback
    return named_options(pairs, COLOUR_OPTIONS, SIZE_OPTIONS), notes


SHOPIFY_COLOUR_METAFIELD_NOTE = "color, where no option gives one"
# Shopify's product CSV as its admin exports it since 2024 names the same columns otherwise
# ("URL handle", "Price", "Inventory quantity"...): new key -> the key the preset reads.
_SHOPIFY_RENAMED = {
    "url_handle": "handle", "description": "body_html", "published_on_online_store": "published",
    "sku": "variant_sku", "barcode": "variant_barcode", "price": "variant_price",
    "compare_at_price": "variant_compare_at_price", "inventory_tracker": "variant_inventory_tracker",
    "inventory_quantity": "variant_inventory_qty", "continue_selling_when_out_of_stock": "variant_inventory_policy",
    "weight_value_grams": "variant_grams", "product_image_url": "image_src", "variant_image_url": "variant_image",
    "google_shopping_manufacturer_part_number_mpn": "google_shopping_mpn",
}


# The category metafield of a product's colour, "Color (product.metafields.shopify.color-pattern)": its
# label is in the admin's language ("Farbe (…)", "Färg (…)"), its key (see preset_key) is not.
_SHOPIFY_COLOUR_METAFIELD = "_product_metafields_shopify_color_pattern"


def _shopify(cols: Columns, width: int) -> Shape:
    if "url_handle" in cols.at:  # the current header: its columns read as the former ones
        for new, former in _SHOPIFY_RENAMED.items():
            if new in cols.at and former not in cols.at:
                cols.at[former] = cols.at[new]
    handle = cols.at.get("handle")
    fills = [(key, mode) for key, mode in _SHOPIFY_GROUP if key in cols.at]
    # A product's metafields are on its first row only.
    colour_metafield = next(
        (key for key in cols.at if key.endswith(_SHOPIFY_COLOUR_METAFIELD) or key == _SHOPIFY_COLOUR_METAFIELD[1:]),
        None,
    )
    if colour_metafield is not None:
        fills.append((colour_metafield, "first"))
    if handle is not None:
        group = GroupFill(key=handle, fills=tuple((cols.at[key], mode) for key, mode in fills))
        inherited = {f"{key}:{mode}": Col(width + i) for i, (key, mode) in enumerate(fills)}
    else:  # no handle: each row stands alone
        group = None
        own = {key: cols.col(key) for key, _ in fills}
        images = own.get("image_src")
        parts = {"head": First(images), "tail": Rest(images), "all": images} if images else {}
        inherited = {f"{key}:{mode}": own[key] if key != "image_src" else parts[mode] for key, mode in fills}
    price, compare = cols.col("variant_price"), cols.col("variant_compare_at_price")
    options = tuple(o for o in (cols.col(f"option{n}_value") for n in (1, 2, 3)) if o is not None)
    own_key = Joined((Col(handle), *options), ignore=("Default Title",)) if handle is not None else None
    sku = cols.col("variant_sku")
    tracker, qty = cols.col("variant_inventory_tracker"), cols.col("variant_inventory_qty")
    variant_image = cols.col("variant_image")
    head = inherited.get("image_src:head")
    image = cols.first(variant_image, head)
    others = None
    if head is not None:
        tail, every = inherited["image_src:tail"], inherited["image_src:all"]
        others = OtherImages(variant_image, tail, every) if variant_image else tail
    values = {
        "id": cols.first(sku, own_key),
        "title": inherited.get("title:first"),
        "description": inherited.get("body_html:first"),
        "brand": inherited.get("vendor:first"),
        "product_type": cols.first(inherited.get("product_category:first"), inherited.get("type:first")),
        "price": CompareAtPrice(price, compare, "price") if price and compare else price,
        "sale_price": CompareAtPrice(price, compare, "sale") if price and compare else None,
        # A stock Shopify does not track (no tracker) counts nothing: the variant is always available.
        "quantity": TrackedQuantity(qty, tracker) if tracker and qty else qty,
        "availability": TrackedStock(
            # "continue" (the current header's column may say TRUE): the variant sells on when none is left.
            qty, cols.col("variant_inventory_policy"), backorder=("continue", "true"), tracker=tracker,
        ) if tracker and qty else None,
        "gtin": Barcode(cols.col("variant_barcode")) if "variant_barcode" in cols.at else None,
        # A variant's weight in grams; 0, what Shopify writes for a variant without a weight, is none.
        "weight": WithUnit(cols.col("variant_grams"), "g", zero_is_none=True) if "variant_grams" in cols.at else None,
        "image_link": image,
        "additional_image_link": others,
        "mpn": cols.col("google_shopping_mpn"),
        "condition": inherited.get("google_shopping_condition:first"),
        "google_product_category": inherited.get("google_shopping_google_product_category:first"),
    }
    named, notes = _named_options(cols, inherited)
    values.update(named)
    if colour_metafield is not None:
        # The product's colour entries (their handles, "black; silver"), where no option gives a colour.
        colours = Relisted(inherited[f"{colour_metafield}:first"])
        values["color"] = cols.first(values.get("color"), colours)
        notes[cols.at[colour_metafield]] = SHOPIFY_COLOUR_METAFIELD_NOTE
    if isinstance(values["quantity"], TrackedQuantity) and isinstance(qty, Col):
        notes[qty.index] = "quantity"  # the quantity, though only where the tracker is set
    marks = tuple(m for m in (cols.col("variant_sku"), *options) if m is not None)
    # A product's status (active, draft, archived) and whether it is on the online store: on its first row.
    status, published = inherited.get("status:first"), inherited.get("published:first")
    skip = cols.any_of(
        ParentRow(price, marks=marks) if price else None,
        Hidden(status, ("draft", "archived")) if status else None,
        Hidden(published, ("false",)) if published else None,
    )
    return Shape(values=values, skip=skip, group=group, notes=notes)


# --- PrestaShop: the product CSV (";"), its import template's and its back office export's columns --
# The back office's product list export (Catalog > Products > Export) names its columns in the
# employee's language: "Product ID;Image;Name;Reference;Category;Price (tax excl.);Price (tax incl.);
# Quantity;..." in English, "Product ID;Image;Nom;Référence;Catégorie;Montant HT;Montant TTC;Quantité"
# in French, where the price with tax reads "13,90 €" (keys: see preset_key).
_PS_REFERENCE = ("reference", "reference_code", "référence")
_PS_PRICE_WITH_TAX = ("price_tax_included", "price_tax_incl", "final_price", "montant_ttc")
_PS_PRICE_WITHOUT_TAX = ("price_tax_excluded", "price_tax_excl", "base_price", "price", "montant_ht",
                         # the import template of PrestaShop 1.5/1.6 names its one price column so
                         "price_tax_excluded_or_price_tax_included")


def _prestashop(cols: Columns, width: int) -> Shape:
    images = cols.col("image_urls_x_y_z", "image_urls", "images")
    quantity = cols.col("quantity", "quantité")
    # No stock flag: the quantity is the stock; when none is left, "Out of stock action" 1 still
    # takes orders (0 refuses them, 2 follows the shop's setting, which refuses them by default).
    action = cols.col("out_of_stock_action", "out_of_stock", "when_out_of_stock")
    categories = cols.col("categories_x_y_z", "categories", "category", "catégorie")
    price = cols.first(cols.col(*_PS_PRICE_WITH_TAX), cols.col(*_PS_PRICE_WITHOUT_TAX))
    amount, percent = cols.col("discount_amount"), cols.col("discount_percent")
    # A discount (a specific price, as PrestaShop imports it): an amount above zero, else a
    # percentage, off the price while it runs; "On sale (0/1)" only shows a banner in the shop.
    sale = Discounted(
        price, amount, percent, start=cols.col("discount_from_yyyy_mm_dd", "discount_from"),
        end=cols.col("discount_to_yyyy_mm_dd", "discount_to"), today=timezone.localdate().isoformat(),
    ) if price is not None and (amount or percent) else None
    # The product's EAN-13, else its UPC (North America), else its ISBN: each a GTIN, the first a row has.
    gtin = cols.first(cols.col("ean13", "ean_13", "ean"), cols.col("upc"), cols.col("isbn"))
    values = {
        "id": cols.first(cols.col(*_PS_REFERENCE), cols.col("product_id", "id")),
        "title": cols.col("name", "nom"),
        "description": cols.first(cols.col("description"), cols.col("short_description", "summary")),
        "price": price,
        "sale_price": sale,
        "quantity": quantity,
        "availability": TrackedStock(quantity, action, backorder=("1",)) if quantity else None,
        "gtin": Barcode(gtin) if gtin else None,
        "brand": cols.col("manufacturer", "brand"),
        # PrestaShop 1.7.7 added an MPN field beside the supplier reference: a product whose MPN is
        # empty keeps its supplier reference, as a file without that field does.
        "mpn": cols.first(cols.col("mpn"), cols.col("supplier_reference")),
        "condition": cols.col("condition"),
        "image_link": First(images) if images else cols.col("image", "cover_image_url"),
        "additional_image_link": Rest(images) if images else None,
        "product_type": First(categories) if categories else None,
        "weight": cols.col("weight"),
    }
    active = cols.col("active_0_1", "active", "status", "état")
    notes = _id_fallback({}, cols.col(*_PS_REFERENCE), cols.col("product_id", "id"), "reference")
    return Shape(values=values, skip=Hidden(active, ("0",)) if active else None, notes=notes)


# --- Magento 2: System > Export > Products ---------------------------------------------------------
# The attribute codes of colour and size in "additional_attributes" ("color=Red,size=M,material=Cotton").
MAGENTO_COLOUR_CODES = ("color", "colour")
MAGENTO_SIZE_CODES = ("size",)
MAGENTO_ATTRIBUTES_NOTE = "color and size, from its color=… and size=… pairs"


def _magento(cols: Columns, width: int) -> Shape:
    gallery = cols.col("additional_images")
    image = cols.first(cols.col("base_image_url", "base_image"), First(gallery) if gallery else None)
    price, special = cols.col("price"), cols.col("special_price")
    quantity, stock = cols.col("qty"), cols.col("is_in_stock")
    availability = Flag(stock, STOCK_FLAGS) if stock is not None else None
    backorders = cols.col("allow_backorders")
    if availability is not None and quantity is not None and backorders is not None:
        # In stock with none left (qty 0 or less) is a backorder where the product allows them
        # (allow_backorders 1, or 2 telling the customer), unless its use_config_backorders is 1:
        # the store's setting applies then, which the export does not carry (Magento's default: none).
        # A product whose stock is not managed (manage_stock 0, not by the store's setting) has none.
        availability = OnBackorder(
            availability, quantity, backorders, use_config=cols.col("use_config_backorders"),
            manage=cols.col("manage_stock"), use_config_manage=cols.col("use_config_manage_stock"),
        )
    values = {
        "id": cols.first(cols.col("sku"), cols.col("entity_id", "product_id")),
        "title": cols.col("name"),
        "description": cols.first(cols.col("description"), cols.col("short_description")),
        "price": price,
        # The special price is a sale only below the price: Magento sells at the lower of the two.
        "sale_price": LowerPrice(special, price) if special is not None and price is not None else special,
        "quantity": quantity,
        "availability": availability,
        "image_link": image,
        "additional_image_link": Rest(gallery, without=image) if gallery and image else None,
        "product_type": First(cols.col("categories")) if "categories" in cols.at else None,
        "weight": cols.col("weight"),
        "brand": cols.col("manufacturer", "brand"),
        "gtin": Barcode(cols.col("ean", "gtin")) if cols.col("ean", "gtin") else None,
    }
    notes = {}
    if (attributes := cols.col("additional_attributes")) is not None:
        values["color"] = PairValue(attributes, MAGENTO_COLOUR_CODES)
        values["size"] = PairValue(attributes, MAGENTO_SIZE_CODES)
        notes[attributes.index] = MAGENTO_ATTRIBUTES_NOTE
    _id_fallback(notes, cols.col("sku"), cols.col("entity_id", "product_id"), "sku")
    store_view = tuple(c for c in (cols.col("store_view_code"),) if c is not None)
    kind = cols.col("product_type")
    # A configurable or grouped product is never sold itself (its simple products are), even when
    # its row carries a price; a bundle without a price of its own is priced by its parts.
    parents = ParentRow(
        price, kind=kind, kinds=("configurable", "grouped", "bundle"), other=store_view,
        always=("configurable", "grouped") if kind is not None else (),
    ) if price else None
    # product_online: 1 enabled, 2 disabled (not for sale).
    online = cols.col("product_online")
    # A bundle of dynamic price is priced by the products chosen in it: Magento ignores its own
    # price attribute, whatever the export carries there.
    bundle_price = cols.col("bundle_price_type")
    skip = cols.any_of(
        parents, Hidden(online, ("2",)) if online else None,
        Hidden(bundle_price, ("dynamic",)) if bundle_price else None,
    )
    return Shape(values=values, skip=skip, notes=notes)


# --- Magento 2: the admin product grid (Catalog > Products), its "Export" > "CSV" ------------------
# The grid's own columns in English, the shop's attributes by their labels (in its language), " -" in
# an empty cell; the columns shown are the admin's choice, so any may be missing.
MAGENTO_GRID_PARENTS = ("configurable product", "grouped product")
MAGENTO_GRID_STOCK_NOTES = {  # what the mapping screen says of the stock columns (availability follows)
    "quantity": "quantity and availability",
    "quantity_per_source": "quantity and availability, each source's stock added up",
    "salable_quantity": "quantity and availability, each stock's salable quantity added up",
}
_GRID_BARCODES = ("ean", "ean13", "ean_13", "ean_code", "gtin", "gtin13", "barcode", "upc")


def _magento_grid(cols: Columns, width: int) -> Shape:
    def cell(*keys: str) -> Expr | None:
        found = cols.col(*keys)
        return Blank(found) if found is not None else None

    price, special = cell("price"), cell("special_price")
    # The stock: one number, or (with multi-source inventory) each source's, added up; else the
    # salable quantity of each stock, added up the same way.
    stocks = [key for key in ("quantity", "quantity_per_source", "salable_quantity") if key in cols.at]
    quantity = cols.first(*(StockTotal(cell(key)) for key in stocks))
    notes = {cols.at[key]: MAGENTO_GRID_STOCK_NOTES[key] for key in stocks}
    barcode = cell(*_GRID_BARCODES)
    values = {
        "id": cell("sku"),
        "title": cell("name"),
        "description": cols.first(cell("description"), cell("short_description")),
        "price": SymbolPrice(price) if price else None,
        "sale_price": SymbolPrice(special) if special else None,
        "quantity": quantity,
        "availability": TrackedStock(quantity) if quantity else None,
        "gtin": Barcode(barcode) if barcode else None,
        "image_link": Link(cell("thumbnail")) if "thumbnail" in cols.at else None,
        "brand": cell("manufacturer", "brand"),
        "weight": cell("weight"),
        "color": cell(*COLOUR_NAMES),
        "size": cell(*SIZE_NAMES),
    }
    kind = cell("type")
    # A configurable or grouped product is never sold itself (its simple products are), whatever
    # price it shows; a bundle without a price of its own is priced by its parts.
    parents = ParentRow(
        price, kind=kind, kinds=(*MAGENTO_GRID_PARENTS, "bundle product"),
        always=MAGENTO_GRID_PARENTS if kind is not None else (),
    ) if price else None
    status = cell("status")
    skip = cols.any_of(parents, Hidden(status, ("disabled",)) if status else None)
    return Shape(values=values, skip=skip, notes=notes)


def _display(roles: dict[str, tuple[str, ...]], targets: dict[str, str]) -> dict[str, str]:
    return {key: targets[role] for role, keys in roles.items() if role in targets for key in keys}


PRESETS: dict[str, Preset] = {
    "woocommerce": Preset(
        name="woocommerce",
        label="WooCommerce product CSV",
        columns=_display(_WOO, {
            "sku": "id", "id": "id", "name": "title", "description": "description", "short_description": "description",
            "in_stock": "availability", "stock": "quantity", "sale_price": "sale_price", "regular_price": "price",
            "categories": "product_type", "images": "image_link", "gtin": "gtin", "brands": "brand", "mpn": "mpn",
        }) | dict.fromkeys(_WOO_IDENTIFIERS + _WOO_GTIN_METAS, "gtin") | dict.fromkeys(_WOO_MPN_METAS, "mpn"),
        signatures=(
            frozenset({"name", "regular_price"}), frozenset({"nom", "tarif_régulier"}),
            frozenset({"name", "regulärer_preis"}),
        ),
        skip_reason="variable or grouped product without a price of its own (its variations are imported), "
        "an external product (sold on another site), "
        "or a product not published (a draft, a private product, a disabled variation or one of a product not published)",
        shape=_woocommerce,
    ),
    "shopify": Preset(
        name="shopify",
        label="Shopify product CSV",
        columns={
            "variant_sku": "id", "handle": "id", "title": "title", "body_html": "description", "vendor": "brand",
            "type": "product_type", "product_category": "product_type", "variant_price": "price",
            "variant_compare_at_price": "price", "variant_inventory_qty": "quantity", "variant_barcode": "gtin",
            "variant_grams": "weight", "image_src": "image_link", "variant_image": "image_link",
            "google_shopping_mpn": "mpn", "google_shopping_condition": "condition",
            "variant_inventory_tracker": "availability", "variant_inventory_policy": "availability",
            "google_shopping_google_product_category": "google_product_category",
        } | {new: {
            "handle": "id", "body_html": "description", "variant_sku": "id", "variant_barcode": "gtin",
            "variant_price": "price", "variant_compare_at_price": "price", "variant_inventory_tracker": "availability",
            "variant_inventory_qty": "quantity", "variant_inventory_policy": "availability", "variant_grams": "weight",
            "image_src": "image_link", "variant_image": "image_link", "google_shopping_mpn": "mpn",
        }[former] for new, former in _SHOPIFY_RENAMED.items() if former != "published"},
        signatures=(
            frozenset({"handle", "variant_price"}), frozenset({"handle", "variant_sku"}),
            frozenset({"url_handle", "price"}), frozenset({"url_handle", "sku"}),
        ),
        skip_reason="row that only adds an image to its product, or a product not published (draft or archived, "
        "or not on the online store)",
        shape=_shopify,
    ),
    "prestashop": Preset(
        name="prestashop",
        label="PrestaShop product CSV",
        columns={
            "reference": "id", "référence": "id", "product_id": "id", "name": "title", "nom": "title",
            "description": "description",
            "short_description": "description", "price_tax_included": "price", "price_tax_excluded": "price",
            "price_tax_incl": "price", "price_tax_excl": "price", "price_tax_excluded_or_price_tax_included": "price",
            "montant_ttc": "price", "montant_ht": "price", "quantity": "quantity", "quantité": "quantity",
            "out_of_stock_action": "availability", "condition": "condition", "ean13": "gtin", "upc": "gtin", "isbn": "gtin",
            "manufacturer": "brand", "mpn": "mpn", "supplier_reference": "mpn", "image_urls_x_y_z": "image_link",
            "categories_x_y_z": "product_type", "weight": "weight", "discount_amount": "sale_price",
            "discount_percent": "sale_price", "discount_from_yyyy_mm_dd": "sale_price",
            "discount_to_yyyy_mm_dd": "sale_price",
        },
        signatures=(
            frozenset({"reference", "price_tax_excluded"}), frozenset({"reference", "price_tax_included"}),
            frozenset({"reference", "price_tax_excl"}), frozenset({"reference", "price_tax_incl"}),
            frozenset({"reference", "price_tax_excluded_or_price_tax_included"}),
            frozenset({"référence", "montant_ht"}), frozenset({"référence", "montant_ttc"}),
        ),
        skip_reason="product not active",
        shape=_prestashop,
    ),
    "magento": Preset(
        name="magento",
        label="Magento 2 catalog export",
        columns={
            "sku": "id", "name": "title", "description": "description", "short_description": "description",
            "price": "price", "special_price": "sale_price", "qty": "quantity", "is_in_stock": "availability",
            "allow_backorders": "availability", "use_config_backorders": "availability", "manage_stock": "availability",
            "use_config_manage_stock": "availability",
            "base_image": "image_link", "base_image_url": "image_link", "additional_images": "additional_image_link",
            "categories": "product_type", "weight": "weight",
        },
        signatures=(
            frozenset({"sku", "product_type", "attribute_set_code"}), frozenset({"sku", "store_view_code", "name"}),
            frozenset({"sku", "name", "price", "is_in_stock", "base_image_url"}),
        ),
        skip_reason="configurable or grouped product (its simple products are imported), bundle without a price "
        "or of dynamic price, a store view's row, or a disabled product",
        shape=_magento,
    ),
    "magento_grid": Preset(
        name="magento_grid",
        label="Magento 2 product grid export",
        columns={
            "sku": "id", "name": "title", "description": "description", "short_description": "description",
            "price": "price", "special_price": "sale_price", "quantity": "quantity",
            "quantity_per_source": "quantity", "salable_quantity": "quantity", "thumbnail": "image_link",
            "manufacturer": "brand", "weight": "weight",
        } | dict.fromkeys(_GRID_BARCODES, "gtin"),
        signatures=(
            frozenset({"sku", "type", "attribute_set"}), frozenset({"sku", "quantity_per_source"}),
            frozenset({"sku", "salable_quantity"}), frozenset({"sku", "visibility", "websites"}),
        ),
        skip_reason="configurable or grouped product (its simple products are imported), bundle without a price, "
        "or a disabled product",
        shape=_magento_grid,
    ),
    "google": Preset(
        name="google",
        label="Google Merchant feed (TSV/CSV)",
        columns={**{name: name for name in FEED_COLUMNS}, **HEADER_ALIASES},
    ),
}


def detect_preset(header: list[str]) -> Preset | None:
    """The shop format a header is (by its own column names), Google Merchant's for a feed named
    in its columns, or None (the generic reader, with its aliases)."""
    keys = {preset_key(cell) for cell in header}
    for preset in PRESETS.values():
        if preset.shape is not None and preset.matches(keys):
            return preset
    google = {normalise_header(cell) for cell in header}
    if set(REQUIRED_COLUMNS) <= google:
        return PRESETS["google"]
    return None


def preset_named(name: str) -> Preset:
    """The preset of that name; raise KeyError naming the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"Unknown preset {name!r}; known presets: {', '.join(PRESETS)}.") from None
