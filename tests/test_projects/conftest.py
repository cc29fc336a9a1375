"""`projects` is a namespace package under the repository root: the plugin tests import it from
there (pytest's importlib mode does not put the root on sys.path)."""
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
