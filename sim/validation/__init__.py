"""Validation: docking against published models, the briefing's claims as paired experiments, calibration.

These sit above the model and the sweep engine (they run experiments) and below the faces (CLI, report).
"""
