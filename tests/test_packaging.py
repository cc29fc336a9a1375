"""Packaging: the licence, versions declared once, a wheel that carries the configs and tools."""
import os
import os.path as osp
import re
import subprocess
import sys
import tarfile
import zipfile

import pytest
from packaging.requirements import Requirement

from partseg.utils.dependency import DependencyError, check_dependencies, runtime_requirements

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REQUIREMENTS = osp.join(ROOT, 'requirements')


def requirement_lines(name):
    with open(osp.join(REQUIREMENTS, name)) as f:
        return [Requirement(line.split('#')[0].strip()) for line in f if line.split('#')[0].strip()]


def test_license_is_apache_2_and_declared():
    with open(osp.join(ROOT, 'LICENSE')) as f:
        text = f.read()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    assert 'END OF TERMS AND CONDITIONS' in text
    with open(osp.join(ROOT, 'setup.py')) as f:
        setup = f.read()
    assert "license='Apache-2.0'" in setup and "license_files=['LICENSE']" in setup


def test_tested_versions_lie_inside_the_declared_ranges():
    """requirements/tested.txt (what install.sh installs) satisfies runtime.txt (what the code
    needs): the one declaration of each range."""
    ranges = {r.name: r.specifier for r in runtime_requirements()}
    assert str(ranges['torch']) == '>=2.6' and str(ranges['numpy']) == '>=2'
    assert ranges['mmcv'].contains('2.1.0') and not ranges['mmcv'].contains('2.2.0')
    for pin in requirement_lines('tested.txt'):
        version = str(pin.specifier).lstrip('=')
        assert pin.name in ranges, pin
        assert ranges[pin.name].contains(version, prereleases=True), (pin, ranges[pin.name])


def test_install_script_takes_versions_from_the_requirement_files():
    with open(osp.join(ROOT, 'tools', 'install.sh')) as f:
        script = f.read()
    assert not re.search(r'2\.14\.1|0\.29\.1|2\.1\.0', script.split('set -euo pipefail')[1])
    assert '-e "$ROOT[tests]" -c "$TESTED"' in script
    assert 'requirements/tested.txt' in script


def test_import_check_names_the_package_and_the_range():
    check_dependencies()  # this environment is a supported one
    with pytest.raises(
            DependencyError,
            match=r"partseg needs torch>=99 but torch .* is "
            r"installed; install it with: bash tools/install.sh"):
        check_dependencies([Requirement('torch>=99')])
    with pytest.raises(
            DependencyError,
            match=r"needs no-such-package-xyz>=1 but it is not "
            r"installed; install it with: pip install 'no-such-package-xyz>=1'"):
        check_dependencies([Requirement('no-such-package-xyz>=1')])
    check_dependencies([Requirement('no-such-package-xyz; python_version < "3"')])


def test_import_check_reads_runtime_txt(tmp_path):
    path = tmp_path / 'runtime.txt'
    path.write_text('# comment\ntorch>=2.6  # why\n\nnumpy>=2\n')
    assert [str(r) for r in runtime_requirements(str(path))] == ['torch>=2.6', 'numpy>=2']


def test_wheel_ships_configs_tools_and_licence(tmp_path):
    """``pip wheel .`` (offline, the venv's setuptools) puts configs/ and the tools in
    partseg/.mim; an installed package finds configs/dispart/synthetic_k4.py from anywhere."""
    source = tmp_path / 'src'
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'],
                           cwd=ROOT,
                           capture_output=True,
                           text=True,
                           check=True).stdout.split()
    with tarfile.open(tmp_path / 'src.tar', 'w') as tar:  # a clean copy: no build/ in the repo
        for name in files:
            if osp.isfile(osp.join(ROOT, name)):
                tar.add(osp.join(ROOT, name), arcname=name)
    with tarfile.open(tmp_path / 'src.tar') as tar:
        tar.extractall(source, filter='data')
    proc = subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '.', '--no-deps', '--no-build-isolation',
        '--no-index', '--disable-pip-version-check', '-q', '-w',
        str(tmp_path / 'dist')
    ],
                          cwd=source,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel, ) = os.listdir(tmp_path / 'dist')
    with zipfile.ZipFile(tmp_path / 'dist' / wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith('.dist-info/METADATA')))
        archive.extractall(tmp_path / 'site')
    for name in ('configs/dispart/synthetic_k4.py', 'configs/_base_/default_runtime.py',
                 'configs/ganseg/cub_k8_stage2.py', 'tools/train.py', 'tools/test.py',
                 'tools/infer.py', 'tools/deployment/export.py'):
        assert f'partseg/.mim/{name}' in names, name
    assert any(n.endswith('.dist-info/licenses/LICENSE') for n in names)
    assert not any(n.startswith(('tests/', 'projects/')) for n in names)
    metadata = metadata.decode()
    assert 'License: Apache-2.0' in metadata or 'License-Expression: Apache-2.0' in metadata
    assert 'Requires-Dist: torch>=2.6' in metadata
    assert 'Requires-Dist: tensorboard; extra == "tests"' in metadata

    # the installed package (not the checkout) finds and reads a config by its repository name
    script = ('from partseg.utils.cli import load_config; import partseg; '
              'cfg = load_config("configs/dispart/synthetic_k4.py"); '
              'print(partseg.__file__); print(cfg.filename); print(cfg.model.type)')
    env = dict(os.environ, PYTHONPATH=str(tmp_path / 'site'))
    found = subprocess.run([sys.executable, '-c', script],
                           cwd=tmp_path,
                           env=env,
                           capture_output=True,
                           text=True,
                           timeout=120)
    assert found.returncode == 0, found.stderr[-3000:]
    package, config, model = found.stdout.split()
    assert package == str(tmp_path / 'site' / 'partseg' / '__init__.py')
    assert config == str(tmp_path / 'site' / 'partseg' / '.mim' / 'configs' / 'dispart' /
                         'synthetic_k4.py')
    assert model == 'DisPart'
