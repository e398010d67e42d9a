import tensorflow as tf
b = tf.Variable(tf.zeros([float('nan')]) + 4, name='bias')
