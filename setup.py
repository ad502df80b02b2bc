"""Package layout that pyproject.toml cannot express alone.

Python sources live in gen/; the data folders templates/, hw/ and sim/ at the repository
root are mapped into the wheel as archgen/_resources/<name>/ so that
``archgen.resources.resource_dir(name)`` finds them after ``pip install .``.
Everything else (metadata, dependencies, scripts) is in pyproject.toml.
"""

from setuptools import find_packages, setup

RESOURCES = ("templates", "hw", "sim")

setup(
    packages=find_packages("gen") + [f"archgen._resources.{r}" for r in RESOURCES],
    package_dir={"": "gen", **{f"archgen._resources.{r}": r for r in RESOURCES}},
    package_data={f"archgen._resources.{r}": ["**/*"] for r in RESOURCES},
    exclude_package_data={"": ["__pycache__/*", "*.pyc", "**/__pycache__/*", "**/*.pyc"]},
    include_package_data=False,
)
