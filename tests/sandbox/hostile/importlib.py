# expect: forbidden
# importlib
import importlib
def solution():
    return importlib.import_module('os')
