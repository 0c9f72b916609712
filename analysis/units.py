"""Unit conversions (CODATA 2018). Convert once, at the reader; everything downstream is Å, fs, eV."""

BOHR_TO_ANGSTROM = 0.529177210903
HARTREE_TO_EV = 27.211386245988
AU_TIME_TO_FS = 0.02418884326585747
AMU_TO_ME = 1822.888486209
