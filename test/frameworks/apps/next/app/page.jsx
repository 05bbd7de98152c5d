'use client';

export default function Home() {
  return (
    <>
      <h1 id="title">Porthole × Next.js</h1>
      <p id="hmr">before</p>
    </>
  );
}
