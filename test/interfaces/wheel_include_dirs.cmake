# Copyright 2026 The clip_grounding_ros authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# Passed as -DCMAKE_PROJECT_INCLUDE=<this file> when building test/interfaces against the
# ROS 2 message wheels from PyPI. Their exported <pkg>__rosidl_generator_py targets list the
# wheel build machine's Python and NumPy include folders (/opt/python/...), which do not exist
# here and stop CMake at generation. Once the top-level CMakeLists has run, point those
# entries at this interpreter's folders instead. Nothing outside the build folder changes.
function(clip_grounding_use_local_python_includes)
  find_package(Python3 REQUIRED COMPONENTS Interpreter Development.Module NumPy)
  get_property(imported DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS imported)
    get_target_property(folders ${target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT folders OR NOT "${folders}" MATCHES "/opt/python/")
      continue()
    endif()
    set(local "")
    foreach(folder IN LISTS folders)
      if(folder MATCHES "^/opt/python/.*numpy")
        list(APPEND local ${Python3_NumPy_INCLUDE_DIRS})
      elseif(folder MATCHES "^/opt/python/")
        list(APPEND local ${Python3_INCLUDE_DIRS})
      else()
        list(APPEND local "${folder}")
      endif()
    endforeach()
    list(REMOVE_DUPLICATES local)
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${local}")
  endforeach()
endfunction()

if(CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL clip_grounding_use_local_python_includes)
endif()
