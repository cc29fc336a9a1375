"""partseg: unsupervised object part segmentation on MMEngine / mmsegmentation.

Versions are declared once, in ``requirements/*.txt``: ``runtime.txt`` (what partseg needs, as
ranges), one file per optional extra, and ``tested.txt`` (the versions ``tools/install.sh``
installs). Building a wheel copies ``configs/`` and the user-facing tools into ``partseg/.mim/``
(as mmsegmentation does; an sdist holds them through MANIFEST.in), so an installed partseg finds
``configs/dispart/synthetic_k4.py`` (``partseg.utils.shipped_files.find_config``).
"""
import os
import os.path as osp
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))

#: Optional features and the requirements file of each; ``tests`` pulls every one a test uses.
EXTRAS = dict(export='export.txt', mat='mat.txt', plots='plots.txt', tensorboard='tensorboard.txt')

#: What ``partseg/.mim/`` holds: the configs and the scripts a user runs.
MIM_FILES = ('configs', 'tools/train.py', 'tools/test.py', 'tools/infer.py',
             'tools/deployment/export.py', 'tools/dist_train.sh', 'tools/dist_test.sh')


def read_requirements(name):
    """Requirement lines of ``requirements/<name>`` (comments and blanks dropped)."""
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line]


def read_version():
    with open(osp.join(HERE, 'partseg', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def copy_mim_files(package_dir):
    """Copy :data:`MIM_FILES` into ``<package_dir>/.mim`` (a fresh copy each build)."""
    mim = osp.join(package_dir, '.mim')
    if osp.isdir(mim):
        shutil.rmtree(mim)
    for name in MIM_FILES:
        source, target = osp.join(HERE, name), osp.join(mim, name)
        if not osp.exists(source):
            continue  # a checkout without it (e.g. an sdist built before the file existed)
        os.makedirs(osp.dirname(target), exist_ok=True)
        if osp.isdir(source):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copy2(source, target)


class BuildPyWithMim(build_py):
    """``build_py`` that also puts the configs and tools into the built ``partseg/.mim``."""

    def run(self):
        super().run()
        if not self.editable_mode:  # an editable install reads them from the checkout
            copy_mim_files(osp.join(self.build_lib, 'partseg'))


extras = {name: read_requirements(file) for name, file in EXTRAS.items()}
extras['tests'] = read_requirements('tests.txt') + [r for v in extras.values() for r in v]
extras['docs'] = read_requirements('docs.txt')

setup(
    name='partseg',
    version=read_version(),
    description='Unsupervised object part segmentation toolbox (DisPart, GANSeg) on MMEngine',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    license_files=['LICENSE'],
    classifiers=['Programming Language :: Python :: 3'],  # licence: the field above (SPDX)
    python_requires='>=3.9',
    packages=find_packages(
        exclude=('tests', 'tests.*', 'configs', 'tools', 'projects', 'projects.*')),
    include_package_data=True,
    install_requires=read_requirements('runtime.txt'),
    extras_require=extras,
    cmdclass=dict(build_py=BuildPyWithMim),
    zip_safe=False,
)
