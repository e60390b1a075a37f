"""Word lists the generator draws from: cities with their country facts, company names, products.

Every list is fixed: changing one changes every generated row, so append new words at the end only if
you accept that (tests pin a few generated values).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """A customer location and the country facts that follow from it."""

    name: str
    country: str  # ISO 3166-1 alpha-2
    currency: str  # ISO 4217
    phone_prefix: str
    web_suffix: str
    vat_percent: int
    legal_forms: tuple[str, ...]


CITIES: tuple[City, ...] = (
    City("Berlin", "DE", "EUR", "+49 30", "de", 19, ("GmbH", "AG")),
    City("Munich", "DE", "EUR", "+49 89", "de", 19, ("GmbH", "KG")),
    City("Hamburg", "DE", "EUR", "+49 40", "de", 19, ("GmbH", "AG")),
    City("Paris", "FR", "EUR", "+33 1", "fr", 20, ("SAS", "SARL", "SA")),
    City("Lyon", "FR", "EUR", "+33 4", "fr", 20, ("SAS", "SARL")),
    City("London", "GB", "GBP", "+44 20", "co.uk", 20, ("Ltd", "PLC")),
    City("Manchester", "GB", "GBP", "+44 161", "co.uk", 20, ("Ltd",)),
    City("New York", "US", "USD", "+1 212", "com", 0, ("Inc.", "LLC", "Corp.")),
    City("Chicago", "US", "USD", "+1 312", "com", 0, ("Inc.", "LLC")),
    City("Austin", "US", "USD", "+1 512", "com", 0, ("Inc.", "LLC")),
    City("Toronto", "CA", "CAD", "+1 416", "ca", 13, ("Inc.", "Ltd.")),
    City("Amsterdam", "NL", "EUR", "+31 20", "nl", 21, ("B.V.", "N.V.")),
    City("Madrid", "ES", "EUR", "+34 91", "es", 21, ("S.L.", "S.A.")),
    City("Milan", "IT", "EUR", "+39 02", "it", 22, ("S.r.l.", "S.p.A.")),
    City("Zurich", "CH", "CHF", "+41 44", "ch", 8, ("AG", "GmbH")),
    City("Vienna", "AT", "EUR", "+43 1", "at", 20, ("GmbH", "AG")),
    City("Stockholm", "SE", "SEK", "+46 8", "se", 25, ("AB",)),
    City("Copenhagen", "DK", "DKK", "+45 3", "dk", 25, ("ApS", "A/S")),
    City("Warsaw", "PL", "PLN", "+48 22", "pl", 23, ("Sp. z o.o.", "S.A.")),
    City("Singapore", "SG", "SGD", "+65 6", "com.sg", 9, ("Pte. Ltd.",)),
    City("Sydney", "AU", "AUD", "+61 2", "com.au", 10, ("Pty Ltd",)),
    City("Brussels", "BE", "EUR", "+32 2", "be", 21, ("BV", "SA")),
    City("Dublin", "IE", "EUR", "+353 1", "ie", 23, ("Ltd", "DAC")),
    City("Oslo", "NO", "NOK", "+47 2", "no", 25, ("AS", "ASA")),
)

COMPANY_WORDS: tuple[str, ...] = (
    "Northwind", "Contoso", "Fabrikam", "Adventure", "Litware", "Proseware", "Tailspin", "Wingtip",
    "Alpine", "Coho", "Blue Yonder", "Fourth Coffee", "Graphic Design", "Humongous", "Lucerne",
    "Margie's", "Nod", "Southridge", "Trey", "Wide World", "Woodgrove", "Consolidated", "Datum",
    "Tree", "Bellows", "Fernhill", "Harbor", "Ironwood", "Keystone", "Redwood",
)

COMPANY_NOUNS: tuple[str, ...] = (
    "Traders", "Works", "Systems", "Foods", "Motors", "Textiles", "Logistics", "Supplies", "Industries",
    "Electronics", "Pharma", "Builders",
)

MATERIALS: tuple[str, ...] = (
    "Steel", "Aluminium", "Brass", "Copper", "Oak", "Pine", "Nylon", "Rubber", "Ceramic", "Glass",
)

#: (product, category, unit of measure)
PRODUCTS: tuple[tuple[str, str, str], ...] = (
    ("Bolt", "Fasteners", "PCS"),
    ("Nut", "Fasteners", "PCS"),
    ("Washer", "Fasteners", "PCS"),
    ("Screw", "Fasteners", "BOX"),
    ("Bracket", "Hardware", "PCS"),
    ("Hinge", "Hardware", "PCS"),
    ("Pipe", "Plumbing", "M"),
    ("Valve", "Plumbing", "PCS"),
    ("Fitting", "Plumbing", "PCS"),
    ("Sheet", "Raw Materials", "KG"),
    ("Rod", "Raw Materials", "M"),
    ("Wire", "Raw Materials", "M"),
    ("Panel", "Building", "PCS"),
    ("Beam", "Building", "PCS"),
    ("Gasket", "Seals", "PCS"),
    ("Seal Ring", "Seals", "PCS"),
    ("Spring", "Components", "PCS"),
    ("Bearing", "Components", "PCS"),
    ("Pulley", "Components", "PCS"),
    ("Cable Tie", "Electrical", "BOX"),
)

SIZES: tuple[str, ...] = ("M4", "M6", "M8", "M10", "M12", "10 mm", "25 mm", "50 mm")

ORDER_STATUSES: tuple[str, ...] = (
    "Open", "Open", "Released", "Released", "Shipped", "Shipped", "Invoiced", "Invoiced", "Invoiced",
    "Cancelled",
)

INVOICE_STATUSES: tuple[str, ...] = ("Open", "Open", "Paid", "Paid", "Paid", "Paid", "Overdue", "Cancelled")

PAYMENT_TERMS_DAYS: tuple[int, ...] = (14, 30, 30, 45, 60)

DISCOUNT_PERCENTS: tuple[int, ...] = (0, 0, 0, 0, 0, 5, 10, 15)
