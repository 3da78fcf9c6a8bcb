"""Start the posediff_ros estimator on a camera's depth, mask and camera-info topics.

    ros2 launch posediff_ros estimator.launch.py \
        depth_topic:=/camera/depth/image_rect_raw mask_topic:=/segmenter/instances \
        camera_info_topic:=/camera/depth/camera_info device:=cuda rviz:=true

The node's parameters come from `params_file` (default: the installed
config/estimator.yaml); `device` and `model_path` override it.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = {
    'depth_topic': ('depth', 'Depth image topic (16UC1 mm, 32FC1 m)'),
    'mask_topic': ('mask', 'Instance mask topic (mono8/mono16, panoptic or instance labels)'),
    'camera_info_topic': ('camera_info', 'CameraInfo topic of the depth camera'),
    'poses_topic': ('/object_poses', 'Output vision_msgs/Detection3DArray topic'),
    'params_file': (PathJoinSubstitution([FindPackageShare('posediff_ros'), 'config', 'estimator.yaml']),
                    'Parameter file of the estimator node'),
    'device': ('auto', 'Torch device: auto, cpu, cuda, cuda:N'),
    'model_path': ('', 'Checkpoint; empty: the shipped model'),
    'rviz': ('false', 'Also start RViz with config/posediff.rviz'),
}


def generate_launch_description():
    arguments = [DeclareLaunchArgument(name, default_value=default, description=description)
                 for name, (default, description) in ARGUMENTS.items()]
    estimator = Node(
        package='posediff_ros',
        executable='estimator',
        name='posediff_estimator',
        output='screen',
        parameters=[
            LaunchConfiguration('params_file'),
            {
                'device': ParameterValue(LaunchConfiguration('device'), value_type=str),
                'model_path': ParameterValue(LaunchConfiguration('model_path'), value_type=str),
            },
        ],
        remappings=[
            ('depth', LaunchConfiguration('depth_topic')),
            ('mask', LaunchConfiguration('mask_topic')),
            ('camera_info', LaunchConfiguration('camera_info_topic')),
            ('object_poses', LaunchConfiguration('poses_topic')),
        ],
    )
    rviz = Node(
        package='rviz2',
        executable='rviz2',
        name='rviz2',
        arguments=['-d', PathJoinSubstitution([FindPackageShare('posediff_ros'), 'config', 'posediff.rviz'])],
        condition=IfCondition(LaunchConfiguration('rviz')),
    )
    return LaunchDescription(arguments + [estimator, rviz])
