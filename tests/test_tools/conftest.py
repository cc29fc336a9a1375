"""The tools' tests import what ``tools/analysis_tools/`` shares (``_lib``) as the tools do: with
that folder on ``sys.path``."""
import os.path as osp
import sys

ANALYSIS_TOOLS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'analysis_tools')
if ANALYSIS_TOOLS not in sys.path:
    sys.path.insert(0, ANALYSIS_TOOLS)
