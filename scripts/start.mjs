// The main job. Placeholder until the demo issue lands: it says what it will do.
console.log(`chat-headstart: the main job is not built yet.
It will start, in one process, the local session plane, an Express app mounting
chat.toNodeListener(chat.headStart(...)) at /api/chat with a deterministic local model and a
scripted agent, and print the URL of a chat page. \`npm start -- --compare\` will print the
with/without Head Start timing table.`)
