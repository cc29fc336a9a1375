"""Importing partseg (every submodule) replaces no MMEngine function, class or method: partseg
extends MMEngine through registries, a runner, hooks, checkpoint schemes and file backends."""
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SCRIPT = r'''
import importlib, inspect, json, pkgutil, sys

import mmengine

# every MMEngine module that imports here (some need optional packages)
for info in pkgutil.walk_packages(mmengine.__path__, 'mmengine.'):
    try:
        importlib.import_module(info.name)
    except Exception:
        pass


def objects():
    """(module, name) -> object for every function / class of a loaded MMEngine module and every
    method of a class defined there."""
    found = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == 'mmengine' or module_name.startswith('mmengine.')):
            continue
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value):
                found[(module_name, name)] = value
            if inspect.isclass(value) and value.__module__ == module_name:
                for attribute, member in list(vars(value).items()):
                    # methods and nested classes; not data (a registry's own tables change)
                    if (inspect.isfunction(member) or inspect.isclass(member)
                            or isinstance(member, (staticmethod, classmethod, property))):
                        found[(module_name, f'{name}.{attribute}')] = member
    return found


before = objects()
import partseg
imported, failed = [], []
for info in pkgutil.walk_packages(partseg.__path__, 'partseg.'):
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except ImportError as error:  # an optional dependency that is not installed
        failed.append(f'{info.name}: {error}')
after = objects()
changed = sorted(f'{module}.{name}' for (module, name), value in before.items()
                 if (module, name) in after and after[(module, name)] is not value)
removed = sorted(f'{module}.{name}' for (module, name) in before if (module, name) not in after)
print(json.dumps(dict(changed=changed, removed=removed, imported=imported, failed=failed,
                      checked=len(before))))
'''


def test_importing_partseg_replaces_no_mmengine_object():
    result = subprocess.run([sys.executable, '-c', SCRIPT],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            timeout=300,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report['changed'] == [] and report['removed'] == []
    assert report['checked'] > 1000  # the runner, hooks, checkpoint functions, ... were seen
    assert {
        'partseg.engine', 'partseg.engine.runner', 'partseg.engine.checkpoint',
        'partseg.engine.mmengine_compat', 'partseg.datasets.generated_pairs_dataset'
    } <= set(report['imported'])
    assert report['failed'] == []
