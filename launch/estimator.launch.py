"""Start the posediff_ros estimator on a camera's depth, mask (or detections) and camera-info topics.

    ros2 launch posediff_ros estimator.launch.py \
        depth_topic:=/camera/depth/image_rect_raw mask_topic:=/segmenter/instances \
        camera_info_topic:=/camera/depth/camera_info device:=cuda rviz:=true

    ros2 launch posediff_ros estimator.launch.py mask_source:=detections \
        detections_topic:=/detections class_map:=<share>/config/coco_classes.yaml \
        depth_topic:=/camera/aligned_depth_to_color/image_raw \
        camera_info_topic:=/camera/aligned_depth_to_color/camera_info

The node's parameters come from `params_file` (default: the installed
config/estimator.yaml); `device`, `model_path`, `mask_source`, `label_encoding` and
`class_map` override it. `managed:=true` starts the managed (lifecycle) node instead, which
waits unconfigured for `ros2 lifecycle set /posediff_estimator configure` and `activate`.
When the estimator exits (a missing model, a crash) the whole launch shuts down, so
nothing it started lingers. RViz is opt-in (`rviz:=true`); without the rviz2 package that
prints one line instead.
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
    "mask_topic": ("mask", "Instance mask topic (mono8/mono16, panoptic, instance or semantic labels)"),
    "detections_topic": ("detections", "vision_msgs/Detection2DArray topic, with mask_source:=detections"),
    "camera_info_topic": ("camera_info", "CameraInfo topic of the depth camera"),
    "poses_topic": ("/object_poses", "Output vision_msgs/Detection3DArray topic"),
    "params_file": (PathJoinSubstitution([SHARE, "config", "estimator.yaml"]), "Parameter file of the estimator node"),
    "device": ("auto", "Torch device: auto, cpu, cuda, cuda:N"),
    "model_path": ("", "Checkpoint; empty: the shipped model"),
    "mask_source": ("mask", "Objects from: mask (label images) or detections (Detection2DArray boxes)"),
    "label_encoding": ("panoptic", "Mask labels: panoptic, instance or semantic (category id per pixel)"),
    "class_map": ("", "YAML file: detector class_id -> category (e.g. config/coco_classes.yaml); empty: names"),
    "managed": ("false", "Start the managed (lifecycle) node: unconfigured until ros2 lifecycle set ..."),
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


def estimator(context):
    """The estimator node, plain or managed (`managed:=true`: the lifecycle node, same name and parameters)."""
    managed = IfCondition(LaunchConfiguration("managed")).evaluate(context)
    overrides = ("device", "model_path", "mask_source", "label_encoding", "class_map")
    return [
        Node(
            package="posediff_ros",
            executable="managed_estimator" if managed else "estimator",
            name="posediff_estimator",
            output="screen",
            parameters=[
                LaunchConfiguration("params_file"),
                {name: ParameterValue(LaunchConfiguration(name), value_type=str) for name in overrides},
            ],
            remappings=[
                ("depth", LaunchConfiguration("depth_topic")),
                ("mask", LaunchConfiguration("mask_topic")),
                ("detections", LaunchConfiguration("detections_topic")),
                ("camera_info", LaunchConfiguration("camera_info_topic")),
                ("object_poses", LaunchConfiguration("poses_topic")),
            ],
            on_exit=Shutdown(reason="the estimator exited"),
        )
    ]


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in ARGUMENTS.items()
    ]
    return LaunchDescription(arguments + [OpaqueFunction(function=estimator), OpaqueFunction(function=rviz)])
