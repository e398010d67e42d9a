import tensorflow as tf
tf.get_variable('b', shape=[float('-inf'), 5], initializer=tf.zeros_initializer())
