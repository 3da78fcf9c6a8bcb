"""The demo on a ROS 2 install: the synthetic camera and the estimator (RViz with rviz:=true).

    ros2 launch posediff_ros demo.launch.py rviz:=true
    ros2 run posediff_ros live_demo --attach      # in a second terminal: live accuracy

The synthetic camera publishes `depth`, `mask` and `camera_info` (the estimator's default
input names) and `/synthetic_camera/ground_truth`. `live_demo --attach` watches these
nodes and prints the accuracy against the ground truth. (Plain `live_demo` starts its own
camera and estimator, for where `ros2 launch` is not available: never beside this launch,
or two cameras and two estimators publish on the same topics.) When either node exits,
the launch shuts down.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, Shutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

SHARE = FindPackageShare("posediff_ros")


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument("rate", default_value="2.0", description="Camera frames per second"),
        DeclareLaunchArgument("device", default_value="auto", description="Torch device: auto, cpu, cuda"),
        DeclareLaunchArgument("model_path", default_value="", description="Checkpoint; empty: the shipped model"),
        DeclareLaunchArgument("rviz", default_value="false", description="Also start RViz (needs rviz2)"),
    ]
    camera = Node(
        package="posediff_ros",
        executable="synthetic_camera",
        name="synthetic_camera",
        output="screen",
        parameters=[{"rate": ParameterValue(LaunchConfiguration("rate"), value_type=float)}],
        # 640x480 images overflow Fast DDS' default 512 KiB shared-memory segment (README).
        additional_env={"FASTDDS_DEFAULT_PROFILES_FILE": PathJoinSubstitution([SHARE, "config", "fastdds_shm.xml"])},
        on_exit=Shutdown(reason="the synthetic camera exited"),
    )
    estimator = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([SHARE, "launch", "estimator.launch.py"])),
        launch_arguments={
            "device": LaunchConfiguration("device"),
            "model_path": LaunchConfiguration("model_path"),
            "rviz": LaunchConfiguration("rviz"),
        }.items(),
    )
    return LaunchDescription(arguments + [camera, estimator])
