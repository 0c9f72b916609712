"""Element data: atomic masses (amu) and covalent radii (Å, Cordero et al. 2008), H to Rn.

Masses are those of the most abundant isotope for H, C, N, O, F, Na, P, S, Cl, Br and I (as the readers have always
used them), otherwise IUPAC standard atomic weights (the longest-lived isotope for Tc, Pm, Po, At, Rn). Covalent radii:
B. Cordero et al., Dalton Trans. 2008, 2832 (sp3 carbon; low-spin Mn, Fe, Co).
"""

MASSES_AMU = {
    "H": 1.00782504, "He": 4.002602, "Li": 6.94, "Be": 9.0121831, "B": 10.81, "C": 12.0, "N": 14.00307401,
    "O": 15.99491464, "F": 18.99840316, "Ne": 20.1797, "Na": 22.98976928, "Mg": 24.305, "Al": 26.9815385,
    "Si": 28.085, "P": 30.97376200, "S": 31.97207100, "Cl": 34.96885268, "Ar": 39.948, "K": 39.0983, "Ca": 40.078,
    "Sc": 44.955908, "Ti": 47.867, "V": 50.9415, "Cr": 51.9961, "Mn": 54.938044, "Fe": 55.845, "Co": 58.933194,
    "Ni": 58.6934, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723, "Ge": 72.630, "As": 74.921595, "Se": 78.971,
    "Br": 78.9183371, "Kr": 83.798, "Rb": 85.4678, "Sr": 87.62, "Y": 88.90584, "Zr": 91.224, "Nb": 92.90637,
    "Mo": 95.95, "Tc": 97.90721, "Ru": 101.07, "Rh": 102.90550, "Pd": 106.42, "Ag": 107.8682, "Cd": 112.414,
    "In": 114.818, "Sn": 118.710, "Sb": 121.760, "Te": 127.60, "I": 126.904473, "Xe": 131.293, "Cs": 132.905452,
    "Ba": 137.327, "La": 138.90547, "Ce": 140.116, "Pr": 140.90766, "Nd": 144.242, "Pm": 144.91276, "Sm": 150.36,
    "Eu": 151.964, "Gd": 157.25, "Tb": 158.92535, "Dy": 162.500, "Ho": 164.93033, "Er": 167.259, "Tm": 168.93422,
    "Yb": 173.045, "Lu": 174.9668, "Hf": 178.49, "Ta": 180.94788, "W": 183.84, "Re": 186.207, "Os": 190.23,
    "Ir": 192.217, "Pt": 195.084, "Au": 196.966569, "Hg": 200.592, "Tl": 204.38, "Pb": 207.2, "Bi": 208.98040,
    "Po": 208.98243, "At": 209.98715, "Rn": 222.01758,
}

COVALENT_RADII_ANGSTROM = {
    "H": 0.31, "He": 0.28, "Li": 1.28, "Be": 0.96, "B": 0.84, "C": 0.76, "N": 0.71, "O": 0.66, "F": 0.57, "Ne": 0.58,
    "Na": 1.66, "Mg": 1.41, "Al": 1.21, "Si": 1.11, "P": 1.07, "S": 1.05, "Cl": 1.02, "Ar": 1.06, "K": 2.03, "Ca": 1.76,
    "Sc": 1.70, "Ti": 1.60, "V": 1.53, "Cr": 1.39, "Mn": 1.39, "Fe": 1.32, "Co": 1.26, "Ni": 1.24, "Cu": 1.32, "Zn": 1.22,
    "Ga": 1.22, "Ge": 1.20, "As": 1.19, "Se": 1.20, "Br": 1.20, "Kr": 1.16, "Rb": 2.20, "Sr": 1.95, "Y": 1.90, "Zr": 1.75,
    "Nb": 1.64, "Mo": 1.54, "Tc": 1.47, "Ru": 1.46, "Rh": 1.42, "Pd": 1.39, "Ag": 1.45, "Cd": 1.44, "In": 1.42, "Sn": 1.39,
    "Sb": 1.39, "Te": 1.38, "I": 1.39, "Xe": 1.40, "Cs": 2.44, "Ba": 2.15, "La": 2.07, "Ce": 2.04, "Pr": 2.03, "Nd": 2.01,
    "Pm": 1.99, "Sm": 1.98, "Eu": 1.98, "Gd": 1.96, "Tb": 1.94, "Dy": 1.92, "Ho": 1.92, "Er": 1.89, "Tm": 1.90, "Yb": 1.87,
    "Lu": 1.87, "Hf": 1.75, "Ta": 1.70, "W": 1.62, "Re": 1.51, "Os": 1.44, "Ir": 1.41, "Pt": 1.36, "Au": 1.36, "Hg": 1.32,
    "Tl": 1.45, "Pb": 1.46, "Bi": 1.48, "Po": 1.40, "At": 1.50, "Rn": 1.50,
}

ATOMIC_NUMBERS = {symbol: z for z, symbol in enumerate(COVALENT_RADII_ANGSTROM, start=1)}


def hill_formula(symbols) -> str:
    """Hill formula of a list of element symbols: C first, then H, then the other elements alphabetically; without
    carbon, every element alphabetically ('C4H4N2', 'CH3I', 'H2O')."""
    from collections import Counter

    counts = Counter(symbols)
    first = [e for e in ("C", "H") if e in counts] if "C" in counts else []
    order = first + sorted(e for e in counts if e not in first)
    return "".join(f"{e}{counts[e] if counts[e] > 1 else ''}" for e in order)


SYMBOLS_BY_Z = {z: symbol for symbol, z in ATOMIC_NUMBERS.items()}
HYDROGEN_ISOTOPES = {"D": "H", "T": "H"}  # deuterium and tritium: hydrogen to the topology


def _case(letters: str) -> str:
    return letters[:1].upper() + letters[1:].lower()


def element_of(token: str) -> str | None:
    """The element of an atom as programs write it, or None when the token names none.

    A symbol in any case ('c', 'CL' → 'C', 'Cl'), an atomic number ('6' → 'C'), a label that starts with the
    symbol ('C1', 'H12', 'Cl_3', 'H1A' → 'C', 'H', 'Cl', 'H'; a two-letter start that is no element falls back to
    its first letter: 'HA1' → 'H'), and the hydrogen isotopes 'D' and 'T' (→ 'H'). A label's two-letter start is
    read as a two-letter element when it is one ('CA1' → 'Ca'): write plain symbols where that matters.
    """
    token = token.strip()
    if token.isdigit():
        return SYMBOLS_BY_Z.get(int(token))
    n_letters = len(token) - len(token.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    letters = token[:n_letters]
    if not letters:
        return None
    if n_letters == len(token):  # letters only: a symbol, nothing else
        symbol = HYDROGEN_ISOTOPES.get(_case(letters), _case(letters))
        return symbol if symbol in ATOMIC_NUMBERS else None
    for start in (letters[:2], letters[:1]) if n_letters >= 2 else (letters,):
        symbol = HYDROGEN_ISOTOPES.get(_case(start), _case(start))
        if symbol in ATOMIC_NUMBERS:
            return symbol
    return None

