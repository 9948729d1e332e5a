# expect: forbidden
# multiprocessing
import multiprocessing
