export function App() {
  return (
    <>
      <h1 id="title">Porthole × Vite + React</h1>
      <p id="hmr">before</p>
    </>
  );
}
