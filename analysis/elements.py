"""Element data: standard atomic masses (amu) and covalent radii (Å, Cordero et al. 2008)."""

MASSES_AMU = {
    "H": 1.00782504, "He": 4.002602, "Li": 6.94, "B": 10.81, "C": 12.0, "N": 14.00307401,
    "O": 15.99491464, "F": 18.99840316, "Na": 22.98976928, "Mg": 24.305, "Si": 28.085,
    "P": 30.97376200, "S": 31.97207100, "Cl": 34.96885268, "Br": 78.9183371, "I": 126.904473,
}

COVALENT_RADII_ANGSTROM = {
    "H": 0.31, "He": 0.28, "Li": 1.28, "B": 0.84, "C": 0.76, "N": 0.71, "O": 0.66, "F": 0.57,
    "Na": 1.66, "Mg": 1.41, "Si": 1.11, "P": 1.07, "S": 1.05, "Cl": 1.02, "Br": 1.20, "I": 1.39,
}

ATOMIC_NUMBERS = {
    "H": 1, "He": 2, "Li": 3, "B": 5, "C": 6, "N": 7, "O": 8, "F": 9, "Na": 11, "Mg": 12,
    "Si": 14, "P": 15, "S": 16, "Cl": 17, "Br": 35, "I": 53,
}


def normalize_symbol(symbol: str) -> str:
    """'c' / 'C' / 'CL' -> 'C' / 'C' / 'Cl'."""
    symbol = symbol.strip()
    return symbol[:1].upper() + symbol[1:].lower()
