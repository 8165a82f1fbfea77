// Unit tests run in plain Node: the connection logic has no DOM.
export default {
  test: {
    include: ['src/__tests__/**/*.spec.ts'],
    environment: 'node'
  }
};
