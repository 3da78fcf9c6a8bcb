"""The demo on a ROS 2 install: the synthetic camera, the estimator and (optionally) RViz.

    ros2 launch posediff_ros demo.launch.py rviz:=true

The synthetic camera publishes `depth`, `mask` and `camera_info` (the estimator's default
input names) and `/synthetic_camera/ground_truth`. Live accuracy against the ground
truth is printed by `ros2 run posediff_ros live_demo`, which can also start both nodes
itself where `ros2 launch` is not available.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

SHARE = FindPackageShare('posediff_ros')


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument('rate', default_value='2.0', description='Camera frames per second'),
        DeclareLaunchArgument('device', default_value='auto', description='Torch device: auto, cpu, cuda'),
        DeclareLaunchArgument('model_path', default_value='', description='Checkpoint; empty: the shipped model'),
        DeclareLaunchArgument('rviz', default_value='true', description='Start RViz'),
    ]
    camera = Node(
        package='posediff_ros',
        executable='synthetic_camera',
        name='synthetic_camera',
        output='screen',
        parameters=[{'rate': ParameterValue(LaunchConfiguration('rate'), value_type=float)}],
        # 640x480 images overflow Fast DDS' default 512 KiB shared-memory segment (README).
        additional_env={'FASTDDS_DEFAULT_PROFILES_FILE': PathJoinSubstitution([SHARE, 'config', 'fastdds_shm.xml'])},
    )
    estimator = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([SHARE, 'launch', 'estimator.launch.py'])),
        launch_arguments={
            'device': LaunchConfiguration('device'),
            'model_path': LaunchConfiguration('model_path'),
            'rviz': LaunchConfiguration('rviz'),
        }.items(),
    )
    return LaunchDescription(arguments + [camera, estimator])
