"""A small CIFAR-10 CNN in tf.keras with batch normalisation.

Conv -> BatchNorm -> ReLU blocks.  The convolutions that feed a BatchNormalization
layer do not need a bias (the normalisation subtracts the batch mean, which cancels
it), so they are built with use_bias=False -- except conv3_1, which was copied from
an older model and still carries its default bias.
"""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

num_classes = 10
input_shape = (32, 32, 3)
batch_size = 128
epochs = 30

(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)


def build_model():
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            # block 1
            layers.Conv2D(32, 3, padding='same', use_bias=False, name='conv1_1'),  # expect: fw=keras kind=conv init=none act=batchnorm out=false
            layers.BatchNormalization(),  # expect: fw=keras kind=norm init=default act=relu out=false
            layers.Activation('relu'),
            layers.Conv2D(32, 3, padding='same', use_bias=False, name='conv1_2'),  # expect: fw=keras kind=conv init=none act=batchnorm out=false
            layers.BatchNormalization(),  # expect: fw=keras kind=norm init=default act=relu out=false
            layers.Activation('relu'),
            layers.MaxPooling2D(pool_size=2),
            # block 2
            layers.Conv2D(64, 3, padding='same', use_bias=False, name='conv2_1'),  # expect: fw=keras kind=conv init=none act=batchnorm out=false
            layers.BatchNormalization(),  # expect: fw=keras kind=norm init=default act=relu out=false
            layers.Activation('relu'),
            layers.Conv2D(64, 3, padding='same', use_bias=False, name='conv2_2'),  # expect: fw=keras kind=conv init=none act=batchnorm out=false
            layers.BatchNormalization(),  # expect: fw=keras kind=norm init=default act=relu out=false
            layers.Activation('relu'),
            layers.MaxPooling2D(pool_size=2),
            # block 3
            layers.Conv2D(128, 3, padding='same', name='conv3_1'),  # expect: fw=keras kind=conv init=default act=batchnorm out=false  # finds: BIA201
            layers.BatchNormalization(),  # expect: fw=keras kind=norm init=default act=relu out=false
            layers.Activation('relu'),
            layers.Conv2D(128, 3, padding='same', use_bias=False, name='conv3_2'),  # expect: fw=keras kind=conv init=none act=batchnorm out=false
            layers.BatchNormalization(),  # expect: fw=keras kind=norm init=default act=relu out=false
            layers.Activation('relu'),
            layers.MaxPooling2D(pool_size=2),
            # classifier
            layers.Flatten(),
            layers.Dense(128, activation='relu', bias_initializer='zeros'),  # expect: fw=keras kind=dense init=zeros value=0 act=relu out=false
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation='softmax'),  # expect: fw=keras kind=dense init=default act=softmax out=true
        ],
        name='cifar_cnn_bn',
    )
    return model


model = build_model()
model.summary()

model.compile(
    loss='categorical_crossentropy',
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    metrics=['accuracy'],
)

callbacks = [
    keras.callbacks.ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=3),
    keras.callbacks.EarlyStopping(monitor='val_loss', patience=8, restore_best_weights=True),
]

history = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    validation_split=0.1,
    callbacks=callbacks,
)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

predictions = model.predict(x_test[:8])
print(np.argmax(predictions, axis=1), np.argmax(y_test[:8], axis=1))
