// The builder's asset loader turns an imported .svg into its source text.
declare module '*.svg' {
  const svgstr: string;
  export default svgstr;
}
