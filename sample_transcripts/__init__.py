"""The sample study's files, shipped with qualcode so ``qualcode demo`` works after ``pip install``.

Everything here is synthetic (see README.md in this folder).
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
