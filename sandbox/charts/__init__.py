"""Synthetic B-ALL charts: FHIR building blocks (``builders``) and one builder per sandbox patient.

The patient builders are grouped by pathway branch (``front_line``, ``ph_infant``, ``relapse``,
``out_of_scope``) and the draft orders live in ``drafts``; ``python -m sandbox.build_patients``
writes them all to ``sandbox/patients/`` and ``sandbox/drafts/``.
"""
