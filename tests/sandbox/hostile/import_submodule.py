# expect: forbidden
# a submodule of an allowed package
import collections.abc
