export { MemoryBackend } from "../../checkpoint/memory-backend.js";
