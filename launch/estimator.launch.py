"""Start the posediff_ros estimator on a camera's depth, mask and camera-info topics.

    ros2 launch posediff_ros estimator.launch.py \
        depth_topic:=/camera/depth/image_rect_raw mask_topic:=/segmenter/instances \
        camera_info_topic:=/camera/depth/camera_info device:=cuda rviz:=true

The node's parameters come from `params_file` (default: the installed
config/estimator.yaml); `device` and `model_path` override it. When the estimator exits
(a missing model, a crash) the whole launch shuts down, so nothing it started lingers.
RViz is opt-in (`rviz:=true`); without the rviz2 package that prints one line instead.
"""

import os

from ament_index_python.packages import PackageNotFoundError, get_package_prefix
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction, Shutdown
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

SHARE = FindPackageShare("posediff_ros")

ARGUMENTS = {
    "depth_topic": ("depth", "Depth image topic (16UC1 mm, 32FC1 m)"),
    "mask_topic": ("mask", "Instance mask topic (mono8/mono16, panoptic or instance labels)"),
    "camera_info_topic": ("camera_info", "CameraInfo topic of the depth camera"),
    "poses_topic": ("/object_poses", "Output vision_msgs/Detection3DArray topic"),
    "params_file": (PathJoinSubstitution([SHARE, "config", "estimator.yaml"]), "Parameter file of the estimator node"),
    "device": ("auto", "Torch device: auto, cpu, cuda, cuda:N"),
    "model_path": ("", "Checkpoint; empty: the shipped model"),
    "rviz": ("false", "Also start RViz with config/posediff.rviz (needs the rviz2 package)"),
}


def rviz(context):
    """RViz when rviz:=true and rviz2 is installed, else one line saying why not.

    launch_ros fails the whole launch on a Node whose package is missing, after starting
    the nodes before it, so the package is looked up first, as launch_ros would.
    """
    if not IfCondition(LaunchConfiguration("rviz")).evaluate(context):
        return []
    try:
        get_package_prefix("rviz2")
    except PackageNotFoundError:
        distro = os.environ.get("ROS_DISTRO", "<distro>")
        return [
            LogInfo(
                msg=f"rviz:=true, but the package 'rviz2' is not installed: continuing without RViz "
                f"(sudo apt install ros-{distro}-rviz2, or run RViz on another machine)"
            )
        ]
    return [
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            arguments=["-d", PathJoinSubstitution([SHARE, "config", "posediff.rviz"])],
        )
    ]


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in ARGUMENTS.items()
    ]
    estimator = Node(
        package="posediff_ros",
        executable="estimator",
        name="posediff_estimator",
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "device": ParameterValue(LaunchConfiguration("device"), value_type=str),
                "model_path": ParameterValue(LaunchConfiguration("model_path"), value_type=str),
            },
        ],
        remappings=[
            ("depth", LaunchConfiguration("depth_topic")),
            ("mask", LaunchConfiguration("mask_topic")),
            ("camera_info", LaunchConfiguration("camera_info_topic")),
            ("object_poses", LaunchConfiguration("poses_topic")),
        ],
        on_exit=Shutdown(reason="the estimator exited"),
    )
    return LaunchDescription(arguments + [estimator, OpaqueFunction(function=rviz)])
