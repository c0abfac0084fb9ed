"""The simulated demo and the episode runner: the pipeline in MuJoCo, observed from outside.

Not part of what a robot runs: this subpackage (with ``sim``) needs MuJoCo and matplotlib,
which are demo extras. ``python -m clip_grounding_ros.demo`` runs the demo (``__main__``).
"""
