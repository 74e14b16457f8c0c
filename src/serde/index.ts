export {
  BYTES_TAG,
  type ClassCodec,
  defaultSerializer,
  JSON_TAG,
  JsonSerializer,
  type SerializedValue,
  type Serializer,
} from "./serializer.js";
