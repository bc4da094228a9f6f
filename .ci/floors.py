"""Print a pip constraints file pinning each dependency to the lowest release
pyproject.toml declares (``name>=X`` becomes ``name==X``), for CI's run at
the floors."""

import pathlib
import re
import tomllib

project = tomllib.loads((pathlib.Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
for requirement in project["dependencies"]:
    match = re.match(r"^([A-Za-z0-9_.\-\[\]]+?)(\[.*\])?\s*>=\s*([\w.]+)", requirement)
    if match:
        print(f"{match.group(1)}=={match.group(3)}")
