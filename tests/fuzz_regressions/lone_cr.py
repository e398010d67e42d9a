import tensorflow as tfd=tf
e