"""The molecule the words refer to: its atom numbering, rings and symmetry-equivalent atoms.

"C1-C6 stretching", "H8 out-of-plane [+]" and "conformer[ring1]" mean something only beside the numbering they
use; the report shows the Franck–Condon geometry with every atom labelled and lists the rings and the atoms that
symmetry merging treats as one.
"""

from __future__ import annotations

import html

from analysis.atoms import fragment_labels
from analysis.elements import hill_formula
from analysis.products import isomerizable_torsions
from analysis.topology import Topology


def equivalent_atoms(topology: Topology) -> list[list[int]]:
    """Sets of atoms (each of two or more, in index order) that the topology's symmetries map onto each other."""
    pairs = [(i, int(j)) for perm, _ in topology.symmetries for i, j in enumerate(perm)]
    orbits: dict[int, list[int]] = {}
    for atom, orbit in enumerate(fragment_labels(len(topology.symbols), pairs)):
        orbits.setdefault(orbit, []).append(atom)
    return [atoms for atoms in orbits.values() if len(atoms) > 1]


def numbering_drawing(topology: Topology) -> bytes | None:
    """PNG of the Franck–Condon geometry with every atom labelled, seen where no atom hides another; None without
    atoms (every trajectory excluded)."""
    from analysis.report.drawing import draw_molecule

    if not len(topology.symbols):
        return None
    return draw_molecule(topology.initial_geometry_angstrom(), topology.symbols, topology.bonds, names=topology.names,
                         label_all=True, size_inches=4.2)


def molecule_lines(topology: Topology) -> list[str]:
    """The molecule in a few sentences: formula, atoms and bonds, each ring's atoms, the symmetry-equivalent sets."""
    names = topology.names
    if not len(names):
        return ["No molecule: no trajectory was read."]
    lines = [f"{hill_formula(topology.symbols)}: {len(names)} atoms, {len(topology.bonds)} bonds at the Franck–Condon geometry."]
    if topology.atoms:
        kept = set(topology.atoms)
        left = [s for i, s in enumerate(topology.system_symbols) if i not in kept]
        lines.append(f"Analysed: atoms {names[0]} … {names[-1]}, {len(names)} of the simulated system's "
                     f"{len(topology.system_symbols)}; the other {len(left)} ({hill_formula(left)}, a solvent or "
                     "environment) are left out of features, channels, drawings and the surrogate (features.atoms).")
    for k, ring in enumerate(topology.rings, start=1):
        lines.append(f"ring{k}: {' '.join(names[i] for i in ring)}.")
    torsions = isomerizable_torsions(topology)
    if torsions:
        listed = ", ".join(f"{names[b]}={names[c]} ({names[a]}, {names[d]})" for a, b, c, d in torsions)
        lines.append(f"Double bonds followed for cis/trans isomerization (by the two named substituents): {listed}.")
    orbits = equivalent_atoms(topology)
    if orbits:
        sets = "; ".join(" ".join(names[i] for i in atoms) for atoms in orbits)
        lines.append(f"Symmetry-equivalent atoms (events relabelled to one form, so equivalent motions are one channel): {sets}.")
    elif topology.symmetries is not None and len(topology.symmetries) <= 1:
        lines.append("No symmetry-equivalent atoms (or symmetry merging is off).")
    return lines


def molecule_html(topology: Topology, drawing_png: bytes | None) -> str:
    """The molecule's subsection: its labelled drawing beside :func:`molecule_lines`."""
    from analysis.report.html import img

    text = "".join(f"<li>{html.escape(line)}</li>" for line in molecule_lines(topology))
    pic = img(drawing_png, "atom numbering") if drawing_png else ""
    return (f'<h3>Molecule</h3><div class="row">{pic}<div><p>The atom names every motion uses (the Franck–Condon '
            f"geometry: the ensemble's mean initial geometry).</p><ul>{text}</ul></div></div>")
