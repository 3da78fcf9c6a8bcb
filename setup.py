"""Build script for posediff_ros (ament_python: colcon, or pip install -e .)."""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'posediff_ros'

# Console scripts, one per executable: `ros2 run posediff_ros <name>` and
# .venv/bin/<name>. Add new executables here.
CONSOLE_SCRIPTS = [
    'demo = posediff_ros.demo:main',
    'generate_dataset = posediff_ros.data.generate:main',
    'train = posediff_ros.train:main',
    'evaluate = posediff_ros.evaluate:main',
    'calibrate_confidence = posediff_ros.calibrate:main',
    'estimator = posediff_ros.ros.node:main',
    'managed_estimator = posediff_ros.ros.managed:main',
    'synthetic_camera = posediff_ros.ros.synthetic_camera:main',
    'live_demo = posediff_ros.ros.live_demo:main',
]

# Data folders installed to share/posediff_ros/<folder>, with the file
# patterns taken from each. A missing or empty folder installs nothing.
SHARE_FOLDERS = {
    'launch': ['*.py', '*.xml', '*.yaml'],
    'config': ['*.yaml', '*.rviz', '*.xml'],
    'models': ['*'],
}


def share_files():
    """(destination, [files]) pairs for data_files, one per folder that has files."""
    pairs = [
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
    ]
    for folder, patterns in SHARE_FOLDERS.items():
        for root, _dirs, _files in sorted(os.walk(folder)):
            found = sorted(
                path for pattern in patterns for path in glob(os.path.join(root, pattern))
                if os.path.isfile(path))
            if found:
                pairs.append((os.path.join('share', PACKAGE, root), found))
    return pairs


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=share_files(),
    install_requires=['setuptools'],
    # Optional: Omni6DPose's depth and mask EXR files in every compression (a built-in reader
    # handles the uncompressed and ZIP ones; docs/datasets.md).
    extras_require={'omni6dpose': ['openexr']},
    zip_safe=False,
    maintainer='posediff_ros maintainers',
    maintainer_email='posediff@example.com',
    description='Category-level 6D object pose estimation with a score-scaled diffusion model',
    license='Apache-2.0',
    entry_points={'console_scripts': CONSOLE_SCRIPTS},
)
