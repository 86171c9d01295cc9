export { type EmailEvent, EVENT_TYPES, type EventType, isEventType } from './catalog.ts';
export { AvroCodec, type DecodeResult } from './codec.ts';
export { InvalidEventError, MtaProducer } from './mta-producer.ts';
export { createRegistry, registerSchema, SchemaRegistry } from './registry.ts';
export { emailEventSchema, valueSubject } from './schemas.ts';
