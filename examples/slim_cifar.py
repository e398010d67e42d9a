"""CIFAR-10 classifier written with TF-Slim (TensorFlow 1.x contrib).

Every conv and fully-connected layer gets the same weight initialiser, L2 weight
decay and a blanket bias of 0.1 from one arg_scope -- the logits included.
"""
import tensorflow as tf

slim = tf.contrib.slim

FLAGS = tf.app.flags.FLAGS
tf.app.flags.DEFINE_integer('batch_size', 128, 'Number of images per batch.')
tf.app.flags.DEFINE_string('train_dir', '/tmp/cifar10_slim', 'Where to write checkpoints.')
tf.app.flags.DEFINE_integer('max_steps', 100000, 'Number of training steps.')

NUM_CLASSES = 10


def cifar_arg_scope(weight_decay=0.004):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        weights_initializer=tf.truncated_normal_initializer(stddev=0.05),
                        biases_initializer=tf.constant_initializer(0.1),
                        weights_regularizer=slim.l2_regularizer(weight_decay),
                        activation_fn=tf.nn.relu) as sc:
        return sc


def cifarnet(images, num_classes=NUM_CLASSES, is_training=False, dropout_keep_prob=0.5,
             scope='CifarNet'):
    end_points = {}
    with tf.variable_scope(scope, 'CifarNet', [images]):
        with slim.arg_scope([slim.conv2d, slim.fully_connected],
                            weights_initializer=tf.truncated_normal_initializer(stddev=0.05),
                            biases_initializer=tf.constant_initializer(0.1),
                            weights_regularizer=slim.l2_regularizer(0.004)):
            net = slim.conv2d(images, 64, [5, 5], scope='conv1')  # expect: fw=slim kind=conv init=constant value=0.1 act=relu out=false
            end_points['conv1'] = net
            net = slim.max_pool2d(net, [2, 2], 2, scope='pool1')
            net = tf.nn.lrn(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name='norm1')  # expect-none: lrn bias is the k constant

            with slim.arg_scope([slim.batch_norm], is_training=is_training, decay=0.997):
                net = slim.conv2d(net, 64, [5, 5], normalizer_fn=slim.batch_norm, scope='conv2')  # expect: fw=slim kind=conv init=none act=batchnorm out=false
            end_points['conv2'] = net
            net = slim.max_pool2d(net, [2, 2], 2, scope='pool2')

            net = slim.flatten(net)
            end_points['Flatten'] = net
            net = slim.fully_connected(net, 384, scope='fc3')  # expect: fw=slim kind=dense init=constant value=0.1 act=relu out=false
            end_points['fc3'] = net
            net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope='dropout3')
            net = slim.fully_connected(net, 192, scope='fc4')  # expect: fw=slim kind=dense init=constant value=0.1 act=relu out=false
            end_points['fc4'] = net
            logits = slim.fully_connected(net, num_classes, activation_fn=None, scope='logits')  # expect: fw=slim kind=dense init=constant value=0.1 act=softmax out=true

            end_points['Logits'] = logits
            end_points['Predictions'] = slim.softmax(logits, scope='Predictions')
    return logits, end_points


def train(images, labels):
    """images: [batch, 32, 32, 3] float32 tensor; labels: [batch] int64 class ids."""
    logits, end_points = cifarnet(images, is_training=True)
    one_hot_labels = slim.one_hot_encoding(labels, NUM_CLASSES)
    slim.losses.softmax_cross_entropy(logits, one_hot_labels)
    total_loss = slim.losses.get_total_loss()
    tf.summary.scalar('losses/total_loss', total_loss)

    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.exponential_decay(0.1, global_step, 350 * 390, 0.1, staircase=True)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    train_op = slim.learning.create_train_op(total_loss, optimizer)

    slim.learning.train(
        train_op,
        logdir=FLAGS.train_dir,
        number_of_steps=FLAGS.max_steps,
        save_summaries_secs=300,
        save_interval_secs=600)


def evaluate(images, labels, checkpoint_path):
    logits, _ = cifarnet(images, is_training=False)
    predictions = tf.argmax(logits, 1)
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'accuracy': slim.metrics.streaming_accuracy(predictions, labels),
    })
    return slim.evaluation.evaluate_once(
        master='',
        checkpoint_path=checkpoint_path,
        logdir='/tmp/cifar10_slim_eval',
        eval_op=list(names_to_updates.values()),
        final_op=list(names_to_values.values()))
