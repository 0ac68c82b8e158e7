// Makes protobufjs use plain numbers for 64-bit fields: must be evaluated before the generated module.
import $protobuf from 'protobufjs/minimal.js';

// Counters and sequences stay far below 2^53; Long objects would leak into JSON and comparisons.
$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
