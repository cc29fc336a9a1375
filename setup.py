"""partseg: unsupervised object part segmentation on MMEngine / mmsegmentation."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of ``requirements/<name>.txt`` (comments and blanks dropped)."""
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line]


def read_version():
    with open(osp.join(HERE, 'partseg', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='partseg',
    version=read_version(),
    description='Unsupervised object part segmentation toolbox (DisPart, GANSeg) on MMEngine',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    install_requires=read_requirements('runtime.txt') +
    ['torch>=2.0', 'torchvision', 'mmcv>=2.0.0rc4,<2.2.0'],
    extras_require={
        'tests': read_requirements('tests.txt'),
        'docs': read_requirements('docs.txt'),
    },
    zip_safe=False,
)
