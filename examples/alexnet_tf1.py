"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) in low-level TensorFlow 1.x.

Single-tower version of the network for 227x227 RGB crops.  Weights and biases are
kept in two dicts; the biases follow section 5 of the paper: the neuron biases of
conv2, conv4, conv5 and the fully-connected hidden layers start at the constant 1
("this accelerates the early stages of learning by providing the ReLUs with positive
inputs"), the remaining layers start at 0.
"""
import tensorflow as tf

# Training parameters
learning_rate = 0.01
momentum = 0.9
weight_decay = 0.0005
batch_size = 128
num_steps = 90000
display_step = 100

# Network parameters
n_input = 227
n_channels = 3
n_classes = 1000
dropout = 0.5  # probability to keep units

# tf Graph input
x = tf.placeholder(tf.float32, [None, n_input, n_input, n_channels])
y = tf.placeholder(tf.float32, [None, n_classes])
keep_prob = tf.placeholder(tf.float32)


def conv2d(x, W, b, strides=1, padding='SAME'):
    # Conv2D wrapper, with bias and relu activation
    x = tf.nn.conv2d(x, W, strides=[1, strides, strides, 1], padding=padding)
    x = tf.nn.bias_add(x, b)
    return tf.nn.relu(x)


def maxpool2d(x, k=3, s=2):
    # Overlapping max pooling (z=3, s=2), section 3.4
    return tf.nn.max_pool(x, ksize=[1, k, k, 1], strides=[1, s, s, 1], padding='VALID')


def lrn(x):
    # Local response normalisation, section 3.3: k=2, n=5, alpha=1e-4, beta=0.75
    return tf.nn.lrn(x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)  # expect-none: lrn bias is the k constant


# Store layers weight & bias
weights = {
    'wc1': tf.Variable(tf.random_normal([11, 11, 3, 96], stddev=0.01)),
    'wc2': tf.Variable(tf.random_normal([5, 5, 96, 256], stddev=0.01)),
    'wc3': tf.Variable(tf.random_normal([3, 3, 256, 384], stddev=0.01)),
    'wc4': tf.Variable(tf.random_normal([3, 3, 384, 384], stddev=0.01)),
    'wc5': tf.Variable(tf.random_normal([3, 3, 384, 256], stddev=0.01)),
    'wd1': tf.Variable(tf.random_normal([6 * 6 * 256, 4096], stddev=0.01)),
    'wd2': tf.Variable(tf.random_normal([4096, 4096], stddev=0.01)),
    'out': tf.Variable(tf.random_normal([4096, n_classes], stddev=0.01)),
}

biases = {
    'bc1': tf.Variable(tf.zeros([96])),  # expect: fw=tf1 kind=conv init=zeros value=0 act=relu out=false  # finds: BIA302
    'bc2': tf.Variable(tf.constant(1.0, shape=[256])),  # expect: fw=tf1 kind=conv init=constant value=1 act=relu out=false  # finds: BIA101
    'bc3': tf.Variable(tf.zeros([384])),  # expect: fw=tf1 kind=conv init=zeros value=0 act=relu out=false
    'bc4': tf.Variable(tf.constant(1.0, shape=[384])),  # expect: fw=tf1 kind=conv init=constant value=1 act=relu out=false  # finds: BIA101
    'bc5': tf.Variable(tf.constant(1.0, shape=[256])),  # expect: fw=tf1 kind=conv init=constant value=1 act=relu out=false  # finds: BIA101
    'bd1': tf.Variable(tf.constant(1.0, shape=[4096])),  # expect: fw=tf1 kind=dense init=constant value=1 act=relu out=false  # finds: BIA101
    'bd2': tf.Variable(tf.constant(1.0, shape=[4096])),  # expect: fw=tf1 kind=dense init=constant value=1 act=relu out=false  # finds: BIA101
    'out': tf.Variable(tf.zeros([n_classes])),  # expect: fw=tf1 kind=dense init=zeros value=0 act=softmax out=true
}


# Create model
def alexnet(x, weights, biases, dropout):
    # conv1: 96 filters 11x11, stride 4
    conv1 = conv2d(x, weights['wc1'], biases['bc1'], strides=4, padding='VALID')
    conv1 = maxpool2d(lrn(conv1))

    # conv2: 256 filters 5x5
    conv2 = conv2d(conv1, weights['wc2'], biases['bc2'])
    conv2 = maxpool2d(lrn(conv2))

    # conv3, conv4, conv5: 3x3
    conv3 = conv2d(conv2, weights['wc3'], biases['bc3'])
    conv4 = conv2d(conv3, weights['wc4'], biases['bc4'])
    conv5 = conv2d(conv4, weights['wc5'], biases['bc5'])
    conv5 = maxpool2d(conv5)

    # Fully connected layer 6
    fc1 = tf.reshape(conv5, [-1, weights['wd1'].get_shape().as_list()[0]])
    fc1 = tf.add(tf.matmul(fc1, weights['wd1']), biases['bd1'])
    fc1 = tf.nn.relu(fc1)
    fc1 = tf.nn.dropout(fc1, dropout)

    # Fully connected layer 7
    fc2 = tf.add(tf.matmul(fc1, weights['wd2']), biases['bd2'])
    fc2 = tf.nn.relu(fc2)
    fc2 = tf.nn.dropout(fc2, dropout)

    # Output, class prediction (fc8)
    out = tf.add(tf.matmul(fc2, weights['out']), biases['out'])
    return out


# Construct model
logits = alexnet(x, weights, biases, keep_prob)
prediction = tf.nn.softmax(logits)

# Define loss and optimizer (weight decay on the weights only)
loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))
l2 = tf.add_n([tf.nn.l2_loss(w) for w in weights.values()])
optimizer = tf.train.MomentumOptimizer(learning_rate=learning_rate, momentum=momentum)
train_op = optimizer.minimize(loss_op + weight_decay * l2)

# Evaluate model
correct_pred = tf.equal(tf.argmax(prediction, 1), tf.argmax(y, 1))
accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))

init = tf.global_variables_initializer()


def train(next_batch):
    with tf.Session() as sess:
        sess.run(init)
        for step in range(1, num_steps + 1):
            batch_x, batch_y = next_batch(batch_size)
            sess.run(train_op, feed_dict={x: batch_x, y: batch_y, keep_prob: dropout})
            if step % display_step == 0 or step == 1:
                loss, acc = sess.run([loss_op, accuracy],
                                     feed_dict={x: batch_x, y: batch_y, keep_prob: 1.0})
                print("Step " + str(step) + ", Minibatch Loss= " +
                      "{:.4f}".format(loss) + ", Training Accuracy= " +
                      "{:.3f}".format(acc))
        print("Optimization Finished!")
